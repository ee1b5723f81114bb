#include "quant/quantize_model.h"

#include <algorithm>
#include <map>
#include <set>

#include "formats/checkpoint.h"
#include "model/model.h"
#include "quant/awq.h"
#include "quant/calibration.h"
#include "quant/gptq.h"
#include "quant/linear_targets.h"
#include "quant/model_writer.h"
#include "quant/progress.h"
#include "quant/quant_pack.h"
#include "quant/window_forward.h"

namespace fathom::quant {

namespace {

using nlohmann::json;

using Target = LinearTarget;

json quantization_config(const QuantizeOptions& o) {
  const int64_t gs = o.params.group_size;
  switch (o.method) {
    case QuantizeMethod::kGptq:
    case QuantizeMethod::kRtn:
      return {{"quant_method", "gptq"},
              {"bits", o.params.bits},
              {"group_size", gs},
              {"desc_act", o.params.act_order},
              {"sym", o.params.sym},
              {"static_groups", false},
              {"true_sequential", false},
              {"damp_percent", o.params.damp_percent},
              {"lm_head", false},
              {"checkpoint_format", "gptq"},
              {"pack_dtype", "int32"},
              {"quantizer", std::string("fathom ") + quantize_method_name(o.method)}};
    case QuantizeMethod::kAwq:
      return {{"quant_method", "awq"}, {"bits", 4},         {"group_size", gs},
              {"zero_point", true},    {"version", "gemm"}, {"modules_to_not_convert", nullptr}};
    case QuantizeMethod::kInt8:
      break;
  }
  json weights = {{"num_bits", 8},
                  {"type", "int"},
                  {"symmetric", true},
                  {"strategy", "channel"},
                  {"group_size", nullptr},
                  {"dynamic", false},
                  {"actorder", nullptr},
                  {"observer", "minmax"},
                  {"observer_kwargs", json::object()},
                  {"block_structure", nullptr}};
  return {{"quant_method", "compressed-tensors"},
          {"format", "pack-quantized"},
          {"quantization_status", "compressed"},
          {"config_groups",
           {{"group_0",
             {{"targets", {"Linear"}},
              {"weights", weights},
              {"input_activations", nullptr},
              {"output_activations", nullptr}}}}},
          {"ignore", {"lm_head"}},
          {"kv_cache_scheme", nullptr},
          {"sparsity_config", json::object()}};
}

/// Splits the targets into runs of whole layers whose distinct inputs' Hessians fit the budget.
std::vector<std::vector<Target>> plan_passes(const std::vector<Target>& targets, int64_t budget) {
  std::vector<std::vector<Target>> passes(1);
  int64_t bytes = 0;
  for (size_t i = 0; i < targets.size();) {
    size_t j = i;
    int64_t layer_bytes = 0;
    for (; j < targets.size() && targets[j].layer == targets[i].layer; ++j)
      if (input_key(targets[j].prefix) == targets[j].prefix)
        layer_bytes += targets[j].in * targets[j].in * static_cast<int64_t>(sizeof(float));
    if (!passes.back().empty() && bytes + layer_bytes > budget) {
      passes.emplace_back();
      bytes = 0;
    }
    passes.back().insert(passes.back().end(), targets.begin() + static_cast<ptrdiff_t>(i),
                         targets.begin() + static_cast<ptrdiff_t>(j));
    bytes += layer_bytes;
    i = j;
  }
  return passes;
}

Result<std::vector<float>> weight_of(const formats::Checkpoint& ck, const Target& t) {
  return tensor_floats(*ck.find(t.prefix + ".weight"));
}

Status quantize_gptq(const formats::Checkpoint& ck, model::Model& m,
                     const std::vector<std::span<const int32_t>>& windows,
                     const std::vector<Target>& targets, const QuantizeOptions& o,
                     std::vector<formats::OwnedTensor>& packed, QuantizeReport& report) {
  const auto passes = plan_passes(targets, o.hessian_budget_bytes);
  for (size_t p = 0; p < passes.size(); ++p) {
    std::set<std::string> keys;
    for (const Target& t : passes[p]) keys.insert(input_key(t.prefix));
    HessianCollector hessians(keys);
    FATHOM_RETURN_IF_ERROR(run_calibration(
        m, windows,
        [&](const std::string& prefix, const float* x, int64_t rows, int64_t cols) {
          hessians.observe(prefix, x, rows, cols);
        },
        o.progress, "calibration " + std::to_string(p + 1) + "/" + std::to_string(passes.size())));
    ++report.calibration_passes;
    std::map<std::string, Eigen::MatrixXf> by_key;
    ProgressBar bar(o.progress, "gptq", static_cast<int64_t>(passes[p].size()));
    for (size_t i = 0; i < passes[p].size(); ++i) {
      const Target& t = passes[p][i];
      const std::string key = input_key(t.prefix);
      if (!by_key.count(key)) {
        FATHOM_ASSIGN_OR_RETURN(Eigen::MatrixXf h, hessians.take(key));
        by_key.emplace(key, std::move(h));
      }
      FATHOM_ASSIGN_OR_RETURN(std::vector<float> w, weight_of(ck, t));
      auto q = gptq_quantize(w.data(), t.out, t.in, by_key.at(key), o.params);
      if (!q.ok()) return invalid_argument(t.prefix + ": " + q.status().message());
      for (auto& tensor : pack_gptq(t.prefix, *q, true)) packed.push_back(std::move(tensor));
      bar.update(static_cast<int64_t>(i + 1));
    }
  }
  return ok_status();
}

}  // namespace

const char* quantize_method_name(QuantizeMethod m) {
  switch (m) {
    case QuantizeMethod::kGptq:
      return "gptq";
    case QuantizeMethod::kAwq:
      return "awq";
    case QuantizeMethod::kRtn:
      return "rtn";
    case QuantizeMethod::kInt8:
      return "int8";
  }
  return "unknown";
}

Result<QuantizeMethod> parse_quantize_method(const std::string& text) {
  for (QuantizeMethod m :
       {QuantizeMethod::kGptq, QuantizeMethod::kAwq, QuantizeMethod::kRtn, QuantizeMethod::kInt8})
    if (text == quantize_method_name(m)) return m;
  return invalid_argument("--method: '" + text +
                          "' is not one of gptq, awq, rtn, int8, q4_k_m, q5_k_m, q6_k, q8_0");
}

Result<QuantizeReport> quantize_model(const std::string& model_dir, const std::string& out_dir,
                                      const QuantizeOptions& o) {
  FATHOM_ASSIGN_OR_RETURN(json config, read_config_json(model_dir));
  if (config.contains("quantization_config") && !config["quantization_config"].is_null())
    return invalid_argument("--model: " + model_dir +
                            " is already quantized (config.json has quantization_config)");
  FATHOM_ASSIGN_OR_RETURN(formats::Checkpoint ck, formats::Checkpoint::open(model_dir));
  FATHOM_ASSIGN_OR_RETURN(std::vector<Target> targets, find_linear_targets(ck));
  const bool four_bit = o.method != QuantizeMethod::kInt8;
  if (four_bit) {
    if (o.method == QuantizeMethod::kAwq && o.params.act_order)
      return invalid_argument("--act-order: only for gptq");
    if (o.method == QuantizeMethod::kRtn && o.params.act_order)
      return invalid_argument("--act-order: only for gptq (rtn has no Hessian to order by)");
    for (const Target& t : targets) {
      Status s = check_group_shape(t.out, t.in, o.params);
      if (!s.ok()) return invalid_argument(t.prefix + ": " + s.message());
    }
  }

  QuantizeReport report;
  std::set<std::string> drop;
  for (const Target& t : targets) drop.insert(t.prefix + ".weight");
  std::vector<formats::OwnedTensor> packed;
  const bool calibrated = o.method == QuantizeMethod::kGptq || o.method == QuantizeMethod::kAwq;
  if (calibrated) {
    if (o.calib_tokens.empty())
      return invalid_argument(std::string("--calib: required for --method ") +
                              quantize_method_name(o.method));
    const auto windows = split_windows(o.calib_tokens, o.ctx, o.samples);
    if (windows.empty())
      return invalid_argument("--calib: " + std::to_string(o.calib_tokens.size()) +
                              " tokens do not fill one window of --ctx " + std::to_string(o.ctx));
    report.calib_tokens = static_cast<int64_t>(windows.size()) * o.ctx;
    FATHOM_ASSIGN_OR_RETURN(auto m, model::load_model(model_dir));
    if (o.method == QuantizeMethod::kGptq) {
      FATHOM_RETURN_IF_ERROR(quantize_gptq(ck, *m, windows, targets, o, packed, report));
    } else {
      AwqInputs in{ck, *m, windows, o.params, o.progress};
      FATHOM_ASSIGN_OR_RETURN(std::vector<formats::OwnedTensor> awq, awq_quantize_model(in));
      for (auto& t : awq) {
        drop.insert(t.name);  // folded norms replace the stored ones
        packed.push_back(std::move(t));
      }
      report.calibration_passes = 1;
    }
  } else {
    ProgressBar bar(o.progress, quantize_method_name(o.method),
                    static_cast<int64_t>(targets.size()));
    for (size_t i = 0; i < targets.size(); ++i) {
      const Target& t = targets[i];
      FATHOM_ASSIGN_OR_RETURN(std::vector<float> w, weight_of(ck, t));
      auto tensors = o.method == QuantizeMethod::kInt8
                         ? pack_int8(t.prefix, int8_channel_quantize(w.data(), t.out, t.in))
                         : pack_gptq(t.prefix, rtn_quantize(w.data(), t.out, t.in, o.params), true);
      for (auto& tensor : tensors) packed.push_back(std::move(tensor));
      bar.update(static_cast<int64_t>(i + 1));
    }
  }
  report.layers_quantized = static_cast<int64_t>(targets.size());
  config["quantization_config"] = quantization_config(o);
  FATHOM_RETURN_IF_ERROR(
      write_model_folder(model_dir, out_dir, config, merge_tensors(ck, drop, std::move(packed))));
  return report;
}

}  // namespace fathom::quant
