#include "quant/model_writer.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "quant/group_quant.h"

namespace fathom::quant {

namespace fs = std::filesystem;

std::vector<formats::OwnedTensor> merge_tensors(const formats::Checkpoint& ck,
                                                const std::set<std::string>& drop,
                                                std::vector<formats::OwnedTensor> add) {
  std::vector<formats::OwnedTensor> out;
  std::vector<std::string> names = ck.names();
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    if (drop.count(name)) continue;
    const formats::TensorView* t = ck.find(name);
    formats::OwnedTensor o;
    o.name = name;
    o.dtype = t->dtype;
    o.shape = t->shape;
    o.bytes.assign(t->data, t->data + t->size_bytes);
    out.push_back(std::move(o));
  }
  for (auto& t : add) out.push_back(std::move(t));
  return out;
}

Result<nlohmann::json> read_config_json(const std::string& dir) {
  const std::string path = dir + "/config.json";
  std::ifstream in(path);
  if (!in) return invalid_argument("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return invalid_argument(path + ": not a JSON object");
  return j;
}

Status write_model_folder(const std::string& src_dir, const std::string& out_dir,
                          const nlohmann::json& config, std::vector<formats::OwnedTensor> tensors) {
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return invalid_argument("--out: cannot create " + out_dir + ": " + ec.message());
  if (fs::equivalent(src_dir, out_dir, ec))
    return invalid_argument("--out: must differ from --model");
  {
    std::ofstream out(out_dir + "/config.json");
    out << config.dump(2) << "\n";
    if (!out) return invalid_argument("--out: cannot write " + out_dir + "/config.json");
  }
  for (const char* name : {"tokenizer.json", "tokenizer_config.json", "generation_config.json",
                           "chat_template.jinja"}) {
    const fs::path from = fs::path(src_dir) / name;
    if (!fs::exists(from)) continue;
    fs::copy_file(from, fs::path(out_dir) / name, fs::copy_options::overwrite_existing, ec);
    if (ec) return invalid_argument("--out: cannot copy " + from.string() + ": " + ec.message());
  }
  std::error_code rm;
  fs::remove(fs::path(out_dir) / "model.safetensors.index.json", rm);
  return formats::write_safetensors(out_dir + "/model.safetensors", tensors, {{"format", "pt"}});
}

formats::OwnedTensor float_tensor(const std::string& name, DType like, std::vector<int64_t> shape,
                                  const std::vector<float>& values) {
  formats::OwnedTensor o;
  o.name = name;
  o.dtype = like == DType::kBF16 || like == DType::kF16 ? like : DType::kF32;
  o.shape = std::move(shape);
  if (o.dtype == DType::kF32) {
    o.bytes.resize(values.size() * sizeof(float));
    std::memcpy(o.bytes.data(), values.data(), o.bytes.size());
    return o;
  }
  o.bytes.resize(values.size() * sizeof(uint16_t));
  for (size_t i = 0; i < values.size(); ++i) {
    const uint16_t b =
        o.dtype == DType::kBF16 ? f32_to_bf16(values[i]) : f32_to_f16_bits(values[i]);
    std::memcpy(o.bytes.data() + 2 * i, &b, sizeof(b));
  }
  return o;
}

Result<std::vector<float>> tensor_floats(const formats::TensorView& t) {
  const int64_t n = t.numel();
  std::vector<float> out(static_cast<size_t>(n));
  switch (t.dtype) {
    case DType::kF32:
      std::copy_n(t.as<float>(), n, out.begin());
      break;
    case DType::kBF16:
      for (int64_t i = 0; i < n; ++i) out[i] = bf16_to_f32(t.as<uint16_t>()[i]);
      break;
    case DType::kF16:
      for (int64_t i = 0; i < n; ++i) out[i] = f16_to_f32(t.as<uint16_t>()[i]);
      break;
    default:
      return invalid_argument(t.name + ": dtype " + dtype_name(t.dtype) +
                              " is not a float weight (file " + t.file + ")");
  }
  return out;
}

}  // namespace fathom::quant
