#include "support/lora_fixture.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "formats/checkpoint.h"
#include "formats/safetensors.h"
#include "model/lora/lora_config.h"
#include "model/model.h"
#include "tensor/dtype.h"

namespace fathom::testing {
namespace fs = std::filesystem;

Status write_random_adapter(const std::string& base_dir, const std::string& dir,
                            const RandomAdapterSpec& spec) {
  FATHOM_ASSIGN_OR_RETURN(auto model, model::load_model(base_dir));
  nlohmann::json cfg = {{"peft_type", "LORA"},
                        {"r", spec.rank},
                        {"lora_alpha", spec.alpha},
                        {"use_rslora", spec.use_rslora},
                        {"bias", "none"},
                        {"lora_dropout", 0.0},
                        {"modules_to_save", nullptr},
                        {"base_model_name_or_path", base_dir},
                        {"task_type", "CAUSAL_LM"}};
  if (spec.regex) {
    cfg["target_modules"] = spec.target_modules.at(0);
  } else {
    cfg["target_modules"] = spec.target_modules;
  }
  FATHOM_ASSIGN_OR_RETURN(model::lora::LoraConfig parsed,
                          model::lora::parse_lora_config(cfg.dump(), "generated config"));
  std::mt19937_64 rng(spec.seed);
  std::uniform_real_distribution<float> u(-spec.magnitude, spec.magnitude);
  std::vector<formats::OwnedTensor> tensors;
  for (const model::lora::LoraTarget& t : model->lora_targets().targets()) {
    if (!parsed.targets.matches(t.module)) continue;
    std::vector<float> a(static_cast<size_t>(spec.rank * t.in_features)),
        b(static_cast<size_t>(t.out_features * spec.rank));
    for (float& v : a) v = u(rng);
    for (float& v : b) v = u(rng);
    const std::string p = "base_model.model." + t.module;
    tensors.push_back(
        formats::make_f32_tensor(p + ".lora_A.weight", {spec.rank, t.in_features}, a));
    tensors.push_back(
        formats::make_f32_tensor(p + ".lora_B.weight", {t.out_features, spec.rank}, b));
  }
  if (tensors.empty())
    return invalid_argument("target_modules select no projection of " + base_dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  std::ofstream(dir + "/adapter_config.json") << cfg.dump(2);
  return formats::write_safetensors(dir + "/adapter_model.safetensors", tensors);
}

namespace {

float element(const formats::TensorView& t, int64_t i) {
  switch (t.dtype) {
    case DType::kF32:
      return t.as<float>()[i];
    case DType::kBF16:
      return bf16_to_f32(t.as<uint16_t>()[i]);
    default:
      return f16_to_f32(t.as<uint16_t>()[i]);
  }
}

}  // namespace

Status write_merged_checkpoint(const std::string& base_dir, const std::string& adapter_dir,
                               const std::string& out_dir) {
  FATHOM_ASSIGN_OR_RETURN(auto model, model::load_model(base_dir));
  FATHOM_ASSIGN_OR_RETURN(
      auto adapter, model::lora::load_lora_adapter("merge", adapter_dir, model->lora_targets()));
  FATHOM_ASSIGN_OR_RETURN(formats::Checkpoint ck, formats::Checkpoint::open(base_dir));
  const auto& targets = model->lora_targets();
  std::vector<formats::OwnedTensor> out;
  for (const std::string& name : ck.names()) {
    const formats::TensorView& t = *ck.find(name);
    const std::string module = name.ends_with(".weight") ? name.substr(0, name.size() - 7) : "";
    const int32_t idx = module.empty() ? -1 : targets.find(module);
    if (idx < 0 || !adapter->deltas[idx]) {
      formats::OwnedTensor copy{name, t.dtype, t.shape,
                                std::vector<uint8_t>(t.data, t.data + t.size_bytes)};
      out.push_back(std::move(copy));
      continue;
    }
    if (t.dtype != DType::kF32 && t.dtype != DType::kBF16 && t.dtype != DType::kF16)
      return invalid_argument(name + ": only float base weights can be merged");
    const model::lora::LoraDelta& d = *adapter->deltas[idx];
    const int64_t rows = t.dim(0), cols = t.dim(1), r = adapter->rank;
    const auto* a = static_cast<const float*>(d.a.values);  // [r, cols]
    const auto* b = static_cast<const float*>(d.b.values);  // [rows, r]
    std::vector<float> merged(static_cast<size_t>(rows * cols));
    for (int64_t o = 0; o < rows; ++o)
      for (int64_t i = 0; i < cols; ++i) {
        double ba = 0;
        for (int64_t k = 0; k < r; ++k) ba += static_cast<double>(b[o * r + k]) * a[k * cols + i];
        merged[o * cols + i] =
            static_cast<float>(static_cast<double>(element(t, o * cols + i)) + adapter->scale * ba);
      }
    out.push_back(formats::make_f32_tensor(name, t.shape, merged));
  }
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  for (const auto& entry : fs::directory_iterator(base_dir)) {
    const std::string file = entry.path().filename().string();
    if (file.ends_with(".json") && !file.starts_with("reference") && !file.ends_with(".index.json"))
      fs::copy_file(entry.path(), fs::path(out_dir) / file, fs::copy_options::overwrite_existing,
                    ec);
  }
  return formats::write_safetensors(out_dir + "/model.safetensors", out);
}

}  // namespace fathom::testing
