#include "model/lora/lora_adapter.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "formats/safetensors.h"
#include "model/lora/lora_config.h"
#include "tensor/dtype.h"

namespace fathom::model::lora {

int32_t TargetTable::add(LoraTarget t) {
  const auto idx = static_cast<int32_t>(targets_.size());
  index_.emplace(t.module, idx);
  for (char c :
       t.module + "#" + std::to_string(t.out_features) + "x" + std::to_string(t.in_features))
    fingerprint_ = (fingerprint_ ^ static_cast<uint8_t>(c)) * 0x100000001b3ull;  // FNV-1a
  targets_.push_back(std::move(t));
  return idx;
}

int32_t TargetTable::find(const std::string& module) const {
  auto it = index_.find(module);
  return it == index_.end() ? -1 : it->second;
}

namespace {

constexpr std::string_view kPrefix = "base_model.model.";

/// "base_model.model.M.lora_A.weight" (or PEFT's ".lora_A.default.weight") -> M and 'A'.
bool split_name(const std::string& name, std::string& module, char& which) {
  if (!name.starts_with(kPrefix)) return false;
  for (const char* ab : {"A", "B"})
    for (const char* tail : {".weight", ".default.weight"}) {
      const std::string suffix = std::string(".lora_") + ab + tail;
      if (name.size() > kPrefix.size() + suffix.size() && name.ends_with(suffix)) {
        module = name.substr(kPrefix.size(), name.size() - kPrefix.size() - suffix.size());
        which = ab[0];
        return true;
      }
    }
  return false;
}

/// A float copy of a 2-D F32 / BF16 / F16 tensor as a kF32 weight [rows, cols].
kernels::LinearWeight to_f32_weight(const formats::TensorView& t) {
  auto buf = std::make_shared<std::vector<float>>(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) {
    switch (t.dtype) {
      case DType::kF32:
        (*buf)[i] = t.as<float>()[i];
        break;
      case DType::kBF16:
        (*buf)[i] = bf16_to_f32(t.as<uint16_t>()[i]);
        break;
      default:
        (*buf)[i] = f16_to_f32(t.as<uint16_t>()[i]);
        break;
    }
  }
  kernels::LinearWeight w;
  w.format = kernels::WeightFormat::kF32;
  w.out_features = t.dim(0);
  w.in_features = t.dim(1);
  w.values = buf->data();
  w.storage.push_back(std::move(buf));
  return w;
}

std::string why_unsupported(const std::string& module) {
  if (module.ends_with("kv_b_proj"))
    return "LoRA on kv_b_proj is not supported: the engine splits kv_b_proj per head for "
           "absorbed MLA attention; retrain without it (q/kv_a/o projections and experts work)";
  return "the base model has no projection of that name that adapters can target (supported: "
         "q/k/v/o and gate/up/down projections, DeepSeek q_a/q_b/kv_a_proj_with_mqa/o_proj, "
         "shared and routed experts)";
}

}  // namespace

Result<std::shared_ptr<const LoraAdapter>> load_lora_adapter(const std::string& name,
                                                             const std::string& dir,
                                                             const TargetTable& targets) {
  const std::string config_path = dir + "/adapter_config.json";
  std::ifstream in(config_path);
  if (!in) return not_found(config_path + ": cannot open (is this a PEFT LoRA adapter folder?)");
  std::stringstream text;
  text << in.rdbuf();
  FATHOM_ASSIGN_OR_RETURN(LoraConfig cfg, parse_lora_config(text.str(), config_path));

  const std::string weights_path = dir + "/adapter_model.safetensors";
  if (!std::filesystem::exists(weights_path))
    return not_found(weights_path +
                     ": missing (adapter_model.bin is not supported; save with safetensors)");
  FATHOM_ASSIGN_OR_RETURN(formats::SafetensorsFile file,
                          formats::SafetensorsFile::open(weights_path));

  auto adapter = std::make_shared<LoraAdapter>();
  adapter->name = name;
  adapter->path = dir;
  adapter->rank = cfg.rank;
  adapter->scale = cfg.scale();
  adapter->targets_fingerprint = targets.fingerprint();
  adapter->deltas.resize(targets.targets().size());
  static std::atomic<uint64_t> next_salt{1};
  adapter->cache_salt = next_salt.fetch_add(1);

  std::vector<std::string> problems;
  std::map<int32_t, std::pair<const formats::TensorView*, const formats::TensorView*>> pairs;
  for (const formats::TensorView& t : file.tensors()) {
    std::string module;
    char which = 0;
    if (!split_name(t.name, module, which)) {
      problems.push_back(t.name +
                         ": not a LoRA factor (expected base_model.model.<module>.lora_A.weight or "
                         ".lora_B.weight)");
      continue;
    }
    const int32_t idx = targets.find(module);
    if (idx < 0) {
      problems.push_back(module + ": " + why_unsupported(module));
      continue;
    }
    if (!cfg.targets.matches(module)) {
      problems.push_back(module + ": has LoRA weights but is not in target_modules " +
                         cfg.targets.describe());
      continue;
    }
    if (t.dtype != DType::kF32 && t.dtype != DType::kBF16 && t.dtype != DType::kF16) {
      problems.push_back(t.name + ": dtype " + dtype_name(t.dtype) +
                         " expected one of F32, BF16, F16");
      continue;
    }
    const LoraTarget& target = targets.targets()[idx];
    const std::vector<int64_t> want = which == 'A'
                                          ? std::vector<int64_t>{cfg.rank, target.in_features}
                                          : std::vector<int64_t>{target.out_features, cfg.rank};
    if (t.shape != want) {
      problems.push_back(t.name + ": shape " + formats::shape_string(t.shape) + " expected " +
                         formats::shape_string(want) + " (r = " + std::to_string(cfg.rank) +
                         ", base weight [" + std::to_string(target.out_features) + ", " +
                         std::to_string(target.in_features) + "])");
      continue;
    }
    (which == 'A' ? pairs[idx].first : pairs[idx].second) = &t;
  }
  for (const auto& [idx, ab] : pairs) {
    if (!ab.first || !ab.second) {
      problems.push_back(targets.targets()[idx].module + ": has lora_" + (ab.first ? "A" : "B") +
                         " but no lora_" + (ab.first ? "B" : "A"));
      continue;
    }
    LoraDelta d{to_f32_weight(*ab.first), to_f32_weight(*ab.second)};
    adapter->size_bytes +=
        (ab.first->numel() + ab.second->numel()) * static_cast<int64_t>(sizeof(float));
    adapter->deltas[idx] = std::move(d);
  }
  if (problems.empty() && pairs.empty())
    problems.push_back(weights_path + ": holds no LoRA weights for this model");
  if (!problems.empty()) {
    std::string msg = "LoRA adapter '" + name + "' (" + dir + ") does not fit the base model:";
    for (const std::string& p : problems) msg += "\n  " + p;
    return invalid_argument(msg);
  }
  return std::shared_ptr<const LoraAdapter>(std::move(adapter));
}

}  // namespace fathom::model::lora
