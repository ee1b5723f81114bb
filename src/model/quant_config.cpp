#include "model/quant_config.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <regex>

namespace fathom::model {
namespace {

using nlohmann::json;

constexpr int64_t kMaxBlock = int64_t{1} << 20;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Reads fields of one JSON object, recording every problem with its dotted path.
class Fields {
 public:
  Fields(const json& j, std::string path, std::vector<std::string>& problems,
         int& num_unsupported)
      : j_(j), path_(std::move(path)), problems_(problems), num_unsupported_(num_unsupported) {}

  const json* find(const std::string& key) const {
    auto it = j_.find(key);
    return (it == j_.end() || it->is_null()) ? nullptr : &*it;
  }
  bool has(const std::string& key) const { return find(key) != nullptr; }

  void bad(const std::string& key, const std::string& what) {
    problems_.push_back("config.json: " + path_ + key + ": " + what);
  }
  void unsupported(const std::string& key, const std::string& what) {
    bad(key, what);
    ++num_unsupported_;
  }

  int64_t integer(const std::string& key, int64_t fallback, bool required = false) {
    const json* v = find(key);
    if (!v) {
      if (required) bad(key, "is required");
      return fallback;
    }
    if (!v->is_number_integer()) {
      bad(key, "expected an integer, got " + v->dump());
      return fallback;
    }
    return v->get<int64_t>();
  }
  bool boolean(const std::string& key, bool fallback) {
    const json* v = find(key);
    if (!v) return fallback;
    if (!v->is_boolean()) {
      bad(key, "expected true or false, got " + v->dump());
      return fallback;
    }
    return v->get<bool>();
  }
  std::string string(const std::string& key, const std::string& fallback, bool required = false) {
    const json* v = find(key);
    if (!v) {
      if (required) bad(key, "is required");
      return fallback;
    }
    if (!v->is_string()) {
      bad(key, "expected a string, got " + v->dump());
      return fallback;
    }
    return v->get<std::string>();
  }
  // A list of module names (null -> empty).
  std::vector<std::string> string_list(const std::string& key) {
    std::vector<std::string> out;
    const json* v = find(key);
    if (!v) return out;
    if (!v->is_array()) {
      bad(key, "expected a list of strings, got " + v->dump());
      return out;
    }
    for (size_t i = 0; i < v->size(); ++i) {
      const json& e = (*v)[i];
      if (!e.is_string()) {
        bad(key + "[" + std::to_string(i) + "]", "expected a string, got " + e.dump());
        continue;
      }
      std::string s = e.get<std::string>();
      if (s.rfind("re:", 0) == 0) {
        try {
          std::regex re(s.substr(3));
        } catch (const std::regex_error& err) {
          bad(key + "[" + std::to_string(i) + "]", "bad regular expression '" + s.substr(3) +
                                                       "': " + err.what());
          continue;
        }
      }
      out.push_back(std::move(s));
    }
    return out;
  }

  const std::string& path() const { return path_; }
  /// Fields of the object at `key` (PRECOND: find(key) is an object).
  Fields child(const std::string& key) const {
    return Fields(*find(key), path_ + key + ".", problems_, num_unsupported_);
  }
  /// The object at `key`, or nullptr (absent is fine unless required; a non-object is a problem).
  const json* object(const std::string& key, bool required) {
    const json* v = find(key);
    if (!v) {
      if (required) bad(key, "is required");
      return nullptr;
    }
    if (!v->is_object()) {
      bad(key, "expected an object, got " + v->dump());
      return nullptr;
    }
    return v;
  }

 private:
  const json& j_;
  std::string path_;
  std::vector<std::string>& problems_;
  int& num_unsupported_;
};

// Shared by GPTQ and AWQ: group_size is -1 (whole row) or positive.
int32_t parse_group_size(Fields& f, const std::string& key, int64_t fallback) {
  const int64_t gs = f.integer(key, fallback);
  if (gs != -1 && (gs <= 0 || gs > kMaxBlock)) {
    f.bad(key, std::to_string(gs) + " is not valid (-1 or a positive group size)");
    return static_cast<int32_t>(fallback);
  }
  return static_cast<int32_t>(gs);
}

void parse_fp8(Fields& f, QuantConfig& qc) {
  const std::string fmt = f.string("fmt", "e4m3");
  if (fmt != "e4m3") f.unsupported("fmt", "'" + fmt + "' is not supported (e4m3 only)");
  const std::string scheme = f.string("activation_scheme", "dynamic");
  if (scheme != "dynamic")
    f.unsupported("activation_scheme", "'" + scheme + "' is not supported (dynamic only)");
  const json* bs = f.find("weight_block_size");
  if (!bs) {
    f.unsupported("weight_block_size",
                  "is required (per-tensor fp8 without blocks is not supported)");
    return;
  }
  if (!bs->is_array() || bs->size() != 2 || !(*bs)[0].is_number_integer() ||
      !(*bs)[1].is_number_integer()) {
    f.bad("weight_block_size", "expected [block_out, block_in] integers, got " + bs->dump());
    return;
  }
  const int64_t bo = (*bs)[0].get<int64_t>(), bi = (*bs)[1].get<int64_t>();
  if (bo <= 0 || bi <= 0 || bo > kMaxBlock || bi > kMaxBlock) {
    f.bad("weight_block_size", bs->dump() + " is not valid (positive sizes)");
    return;
  }
  qc.block_out = static_cast<int32_t>(bo);
  qc.block_in = static_cast<int32_t>(bi);
}

void parse_gptq(Fields& f, QuantConfig& qc) {
  qc.bits = static_cast<int32_t>(f.integer("bits", 0, /*required=*/true));
  if (f.has("bits") && qc.bits != 4)
    f.unsupported("bits", std::to_string(qc.bits) + " is not supported (4 only for gptq)");
  qc.group_size = parse_group_size(f, "group_size", -1);
  qc.desc_act = f.boolean("desc_act", false);
  qc.sym = f.boolean("sym", true);
  // GPTQModel writes checkpoint_format (older: format); AutoGPTQ neither (v1).
  const std::string key = f.has("checkpoint_format") ? "checkpoint_format" : "format";
  const std::string cf = f.string(key, "gptq");
  if (cf == "gptq_v2") {
    qc.gptq_v2 = true;
  } else if (cf != "gptq") {
    f.unsupported(key, "'" + cf + "' is not supported (gptq or gptq_v2)");
  }
  if (f.boolean("is_marlin_format", false))
    f.unsupported("is_marlin_format", "true is not supported (marlin-repacked weights)");
  qc.ignore = f.string_list("modules_to_not_convert");
}

void parse_awq(Fields& f, QuantConfig& qc) {
  const std::string bits_key = f.has("bits") ? "bits" : "w_bit";
  qc.bits = static_cast<int32_t>(f.integer(bits_key, 0, /*required=*/true));
  if (f.has(bits_key) && qc.bits != 4)
    f.unsupported(bits_key, std::to_string(qc.bits) + " is not supported (4 only for awq)");
  qc.group_size =
      parse_group_size(f, f.has("q_group_size") ? "q_group_size" : "group_size", 128);
  qc.zero_point = f.boolean("zero_point", true);
  if (!qc.zero_point)
    f.unsupported("zero_point", "false is not supported (awq with zero points only)");
  const std::string version = f.string("version", "gemm");
  if (lower(version) != "gemm")
    f.unsupported("version", "'" + version + "' is not supported (gemm only)");
  qc.ignore = f.string_list("modules_to_not_convert");
}

// One compressed-tensors scheme, e.g. config_groups.group_0: int8, symmetric, per channel.
void parse_ct_group(Fields& g, QuantConfig& qc) {
  if (g.object("weights", /*required=*/true)) {
    Fields w = g.child("weights");
    const int64_t bits = w.integer("num_bits", 0, /*required=*/true);
    if (w.has("num_bits") && bits != 8)
      w.unsupported("num_bits",
                    std::to_string(bits) + " is not supported (8 only for compressed-tensors)");
    qc.num_bits = static_cast<int32_t>(bits);
    const std::string type = w.string("type", "int");
    if (type != "int") w.unsupported("type", "'" + type + "' is not supported (int only)");
    if (!w.boolean("symmetric", true))
      w.unsupported("symmetric", "false is not supported (symmetric int8 only)");
    const std::string strategy = w.string("strategy", "", /*required=*/true);
    if (w.has("strategy") && strategy != "channel")
      w.unsupported("strategy", "'" + strategy + "' is not supported (channel only)");
    if (w.boolean("dynamic", false))
      w.unsupported("dynamic", "true is not supported (static weight scales only)");
    const json* actorder = w.find("actorder");
    if (actorder && !(actorder->is_boolean() && !actorder->get<bool>()))
      w.unsupported("actorder", actorder->dump() + " is not supported (null only)");
  }
  // Activations stay float in fathom; a dynamic activation scheme (W8A8 checkpoints) only
  // changes how the original engine computes, not the stored weights.
  if (g.object("input_activations", false)) {
    Fields a = g.child("input_activations");
    if (!a.boolean("dynamic", false))
      a.unsupported("dynamic", "false is not supported (static activation scales need "
                               "input_scale tensors fathom does not use)");
  }
  if (g.has("output_activations"))
    g.unsupported("output_activations", "is not supported (must be null)");
}

void parse_compressed_tensors(Fields& f, QuantConfig& qc) {
  qc.format = f.string("format", "", /*required=*/true);
  if (qc.format == "naive-quantized") qc.format = "int-quantized";  // the same layout
  if (f.has("format") && qc.format != "pack-quantized" && qc.format != "int-quantized")
    f.unsupported("format", "'" + qc.format +
                                "' is not supported (pack-quantized or int-quantized)");
  if (const json* groups = f.object("config_groups", /*required=*/true)) {
    if (groups->empty()) f.bad("config_groups", "is empty");
    Fields gs = f.child("config_groups");
    for (auto it = groups->begin(); it != groups->end(); ++it) {
      if (!gs.object(it.key(), true)) continue;
      Fields g = gs.child(it.key());
      parse_ct_group(g, qc);
    }
  }
  if (f.has("kv_cache_scheme"))
    f.unsupported("kv_cache_scheme", "is not supported (must be null)");
  qc.ignore = f.string_list("ignore");
}

Result<QuantConfig> parse_object(const json& config_json) {
  QuantConfig qc;
  if (!config_json.is_object()) return invalid_argument("config.json: expected a JSON object");
  auto it = config_json.find("quantization_config");
  if (it == config_json.end() || it->is_null()) return qc;
  std::vector<std::string> problems;
  int num_unsupported = 0;
  if (!it->is_object()) {
    return invalid_argument("config.json: quantization_config: expected an object, got " +
                            it->dump());
  }
  Fields f(*it, "quantization_config.", problems, num_unsupported);
  const std::string method = f.string("quant_method", "", /*required=*/true);
  if (method == "fp8") {
    qc.method = QuantMethod::kFp8Block;
    parse_fp8(f, qc);
  } else if (method == "gptq") {
    qc.method = QuantMethod::kGptq;
    parse_gptq(f, qc);
  } else if (method == "awq") {
    qc.method = QuantMethod::kAwq;
    parse_awq(f, qc);
  } else if (method == "compressed-tensors") {
    qc.method = QuantMethod::kCompressedTensors;
    parse_compressed_tensors(f, qc);
  } else if (f.has("quant_method")) {
    f.bad("quant_method", "'" + method + "' is not supported (fp8, gptq, awq, compressed-tensors)");
  }
  if (problems.empty()) return qc;
  std::string msg = problems[0];
  for (size_t i = 1; i < problems.size(); ++i) msg += "\n" + problems[i];
  // Unimplemented only when every problem is a known-but-unsupported value.
  const bool all_unsupported = num_unsupported == static_cast<int>(problems.size());
  return Status(all_unsupported ? Code::kUnimplemented : Code::kInvalidArgument, msg);
}

}  // namespace

const char* quant_method_name(QuantMethod m) {
  switch (m) {
    case QuantMethod::kNone: return "none";
    case QuantMethod::kFp8Block: return "fp8";
    case QuantMethod::kGptq: return "gptq";
    case QuantMethod::kAwq: return "awq";
    case QuantMethod::kCompressedTensors: return "compressed-tensors";
  }
  return "unknown";
}

bool QuantConfig::is_ignored(const std::string& module) const {
  for (const std::string& e : ignore) {
    if (e.rfind("re:", 0) == 0) {
      try {
        if (std::regex_match(module, std::regex(e.substr(3)))) return true;
      } catch (const std::regex_error&) {
        // parse_quant_config rejected bad patterns; a hand-built config just does not match.
      }
      continue;
    }
    if (module == e) return true;
    if (module.size() > e.size() && module.compare(module.size() - e.size(), e.size(), e) == 0 &&
        module[module.size() - e.size() - 1] == '.')
      return true;
  }
  return false;
}

Result<QuantConfig> parse_quant_config(const nlohmann::json& config_json) {
  try {
    return parse_object(config_json);
  } catch (const std::exception& e) {  // nlohmann or std::regex surprises: never escape
    return invalid_argument(std::string("config.json: quantization_config: ") + e.what());
  }
}

}  // namespace fathom::model
