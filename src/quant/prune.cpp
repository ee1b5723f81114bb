#include "quant/prune.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "formats/checkpoint.h"
#include "model/model.h"
#include "quant/calibration.h"
#include "quant/linear_targets.h"
#include "quant/model_writer.h"
#include "quant/progress.h"
#include "quant/window_forward.h"

namespace fathom::quant {

namespace {

using nlohmann::json;

/// Indices of the `keep` largest scores, in increasing index order.
std::vector<int64_t> top_indices(const std::vector<double>& score, int64_t keep) {
  std::vector<int64_t> idx(score.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(),
                   [&](int64_t a, int64_t b) { return score[a] > score[b]; });
  idx.resize(static_cast<size_t>(keep));
  std::sort(idx.begin(), idx.end());
  return idx;
}

/// The rows `rows` of a [out, in] row-major matrix.
std::vector<float> take_rows(const std::vector<float>& w, int64_t in,
                             const std::vector<int64_t>& rows) {
  std::vector<float> out;
  out.reserve(rows.size() * static_cast<size_t>(in));
  for (int64_t r : rows) out.insert(out.end(), w.begin() + r * in, w.begin() + (r + 1) * in);
  return out;
}

/// The columns `cols` of a [out, in] row-major matrix.
std::vector<float> take_cols(const std::vector<float>& w, int64_t out, int64_t in,
                             const std::vector<int64_t>& cols) {
  std::vector<float> r;
  r.reserve(static_cast<size_t>(out) * cols.size());
  for (int64_t o = 0; o < out; ++o)
    for (int64_t c : cols) r.push_back(w[o * in + c]);
  return r;
}

/// Every `width` consecutive rows of block b for each b in `blocks` (heads: width = head_dim).
std::vector<int64_t> expand_blocks(const std::vector<int64_t>& blocks, int64_t width) {
  std::vector<int64_t> out;
  for (int64_t b : blocks)
    for (int64_t k = 0; k < width; ++k) out.push_back(b * width + k);
  return out;
}

/// ||W[:, c]||_2 for each column c.
std::vector<double> column_norms(const std::vector<float>& w, int64_t out, int64_t in) {
  std::vector<double> n(static_cast<size_t>(in), 0.0);
  for (int64_t o = 0; o < out; ++o)
    for (int64_t c = 0; c < in; ++c) n[c] += static_cast<double>(w[o * in + c]) * w[o * in + c];
  for (double& v : n) v = std::sqrt(v);
  return n;
}

/// Reads and converts a checkpoint tensor, naming it when absent.
class TensorSource {
 public:
  explicit TensorSource(const formats::Checkpoint& ck) : ck_(ck) {}
  Result<std::vector<float>> floats(const std::string& name) {
    const formats::TensorView* t = ck_.find(name);
    if (!t) return invalid_argument(name + ": missing from the checkpoint");
    return tensor_floats(*t);
  }
  /// Queues a replacement for `name` in the same dtype.
  void replace(const std::string& name, std::vector<int64_t> shape, const std::vector<float>& v) {
    drop.insert(name);
    add.push_back(float_tensor(name, ck_.find(name)->dtype, std::move(shape), v));
  }
  bool has(const std::string& name) const { return ck_.find(name) != nullptr; }

  std::set<std::string> drop;
  std::vector<formats::OwnedTensor> add;

 private:
  const formats::Checkpoint& ck_;
};

Status prune_unstructured(const std::vector<LinearTarget>& targets,
                          const ChannelNormCollector* norms, const PruneOptions& o,
                          TensorSource& src, PruneReport& report) {
  ProgressBar bar(o.progress, o.two_four ? "prune 2:4" : "prune",
                  static_cast<int64_t>(targets.size()));
  for (size_t k = 0; k < targets.size(); ++k) {
    const LinearTarget& t = targets[k];
    FATHOM_ASSIGN_OR_RETURN(std::vector<float> w, src.floats(t.prefix + ".weight"));
    std::vector<float> scores(w.size());
    const std::vector<float> xn = norms ? norms->norms(input_key(t.prefix)) : std::vector<float>{};
    if (norms && static_cast<int64_t>(xn.size()) != t.in)
      return invalid_argument(t.prefix + ": no calibration activations reached it");
    for (int64_t oi = 0; oi < t.out; ++oi)
      for (int64_t i = 0; i < t.in; ++i)
        scores[oi * t.in + i] = std::fabs(w[oi * t.in + i]) * (norms ? xn[i] : 1.0f);
    const std::vector<uint8_t> keep = o.two_four
                                          ? two_four_mask(scores, t.out, t.in)
                                          : unstructured_mask(scores, t.out, t.in, o.sparsity);
    for (size_t i = 0; i < w.size(); ++i)
      if (!keep[i]) {
        w[i] = 0.0f;
        ++report.zeroed;
      }
    src.replace(t.prefix + ".weight", {t.out, t.in}, w);
    bar.update(static_cast<int64_t>(k + 1));
  }
  return ok_status();
}

Status prune_structured(const model::ModelConfig& c, const ChannelNormCollector& norms,
                        const PruneOptions& o, TensorSource& src, PruneReport& report) {
  const int64_t d = c.hidden_size, hd = c.head_dim, inter = c.intermediate_size;
  const int64_t kv = c.num_kv_heads, per_group = c.num_heads / c.num_kv_heads;
  int64_t keep_inter = static_cast<int64_t>(std::llround(static_cast<double>(inter) * o.mlp_keep));
  if (keep_inter >= 16) keep_inter -= keep_inter % 8;  // packable by the 4-bit formats
  keep_inter = std::clamp<int64_t>(keep_inter, 1, inter);
  const int64_t keep_kv =
      std::clamp<int64_t>(std::llround(static_cast<double>(kv) * o.heads_keep), 1, kv);
  report.intermediate_size = keep_inter;
  report.num_kv_heads = keep_kv;
  report.num_heads = keep_kv * per_group;

  ProgressBar bar(o.progress, "prune width", c.num_layers);
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    // MLP channel c matters as ||X_down[:, c]|| * ||W_down[:, c]||.
    FATHOM_ASSIGN_OR_RETURN(std::vector<float> down, src.floats(p + "mlp.down_proj.weight"));
    const std::vector<float> xd = norms.norms(p + "mlp.down_proj");
    if (static_cast<int64_t>(xd.size()) != inter)
      return invalid_argument(p + "mlp.down_proj: no calibration activations reached it");
    std::vector<double> ch = column_norms(down, d, inter);
    for (int64_t i = 0; i < inter; ++i) ch[i] *= xd[i];
    const std::vector<int64_t> keep_ch = top_indices(ch, keep_inter);
    for (const char* name : {"mlp.gate_proj.weight", "mlp.up_proj.weight"}) {
      FATHOM_ASSIGN_OR_RETURN(std::vector<float> w, src.floats(p + name));
      src.replace(p + name, {keep_inter, d}, take_rows(w, d, keep_ch));
    }
    src.replace(p + "mlp.down_proj.weight", {d, keep_inter}, take_cols(down, d, inter, keep_ch));

    // A KV group (with its query heads) matters as the sum over its heads' o_proj input
    // columns of (||X_o[:, j]|| * ||W_o[:, j]||)^2.
    FATHOM_ASSIGN_OR_RETURN(std::vector<float> wo, src.floats(p + "self_attn.o_proj.weight"));
    const int64_t q_dim = c.num_heads * hd;
    const std::vector<float> xo = norms.norms(p + "self_attn.o_proj");
    if (static_cast<int64_t>(xo.size()) != q_dim)
      return invalid_argument(p + "self_attn.o_proj: no calibration activations reached it");
    const std::vector<double> on = column_norms(wo, d, q_dim);
    std::vector<double> group(static_cast<size_t>(kv), 0.0);
    for (int64_t j = 0; j < q_dim; ++j) group[j / (hd * per_group)] += std::pow(on[j] * xo[j], 2);
    const std::vector<int64_t> keep_groups = top_indices(group, keep_kv);
    std::vector<int64_t> keep_heads;
    for (int64_t g : keep_groups)
      for (int64_t h = 0; h < per_group; ++h) keep_heads.push_back(g * per_group + h);
    const std::vector<int64_t> q_rows = expand_blocks(keep_heads, hd);
    const std::vector<int64_t> kv_rows = expand_blocks(keep_groups, hd);
    for (const auto& [name, rows] :
         {std::pair<std::string, const std::vector<int64_t>*>{"q_proj", &q_rows},
          {"k_proj", &kv_rows},
          {"v_proj", &kv_rows}}) {
      const std::string wname = p + "self_attn." + name + ".weight";
      FATHOM_ASSIGN_OR_RETURN(std::vector<float> w, src.floats(wname));
      src.replace(wname, {static_cast<int64_t>(rows->size()), d}, take_rows(w, d, *rows));
      const std::string bname = p + "self_attn." + name + ".bias";
      if (src.has(bname)) {
        FATHOM_ASSIGN_OR_RETURN(std::vector<float> b, src.floats(bname));
        src.replace(bname, {static_cast<int64_t>(rows->size())}, take_rows(b, 1, *rows));
      }
    }
    src.replace(p + "self_attn.o_proj.weight", {d, static_cast<int64_t>(q_rows.size())},
                take_cols(wo, d, q_dim, q_rows));
    bar.update(l + 1);
  }
  return ok_status();
}

}  // namespace

Result<PruneMethod> parse_prune_method(const std::string& text) {
  if (text == "magnitude") return PruneMethod::kMagnitude;
  if (text == "wanda") return PruneMethod::kWanda;
  return invalid_argument("--method: '" + text + "' is not one of magnitude, wanda");
}

std::vector<uint8_t> unstructured_mask(const std::vector<float>& scores, int64_t out, int64_t in,
                                       double sparsity) {
  std::vector<uint8_t> keep(scores.size(), 1);
  const int64_t drop = static_cast<int64_t>(std::llround(sparsity * static_cast<double>(in)));
  std::vector<int64_t> idx(static_cast<size_t>(in));
  for (int64_t o = 0; o < out; ++o) {
    std::iota(idx.begin(), idx.end(), 0);
    const float* s = scores.data() + o * in;
    std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return s[a] < s[b]; });
    for (int64_t k = 0; k < drop; ++k) keep[o * in + idx[k]] = 0;
  }
  return keep;
}

std::vector<uint8_t> two_four_mask(const std::vector<float>& scores, int64_t out, int64_t in) {
  std::vector<uint8_t> keep(scores.size(), 1);
  for (int64_t o = 0; o < out; ++o)
    for (int64_t b = 0; b + 4 <= in; b += 4) {
      const float* s = scores.data() + o * in + b;
      int64_t idx[4] = {0, 1, 2, 3};
      std::stable_sort(idx, idx + 4, [&](int64_t a, int64_t c) { return s[a] < s[c]; });
      keep[o * in + b + idx[0]] = 0;
      keep[o * in + b + idx[1]] = 0;
    }
  return keep;
}

Result<PruneReport> prune_model(const std::string& model_dir, const std::string& out_dir,
                                const PruneOptions& o) {
  FATHOM_ASSIGN_OR_RETURN(json config, read_config_json(model_dir));
  if (config.contains("quantization_config") && !config["quantization_config"].is_null())
    return invalid_argument("--model: " + model_dir + " is quantized; prune the float checkpoint");
  if (!o.structured && !o.two_four && !(o.sparsity > 0.0 && o.sparsity < 1.0))
    return invalid_argument("--sparsity: must be in (0, 1)");
  if (o.structured && !(o.mlp_keep > 0.0 && o.mlp_keep <= 1.0))
    return invalid_argument("--mlp-keep: must be in (0, 1]");
  if (o.structured && !(o.heads_keep > 0.0 && o.heads_keep <= 1.0))
    return invalid_argument("--heads-keep: must be in (0, 1]");
  FATHOM_ASSIGN_OR_RETURN(formats::Checkpoint ck, formats::Checkpoint::open(model_dir));
  FATHOM_ASSIGN_OR_RETURN(std::vector<LinearTarget> targets, find_linear_targets(ck));
  FATHOM_ASSIGN_OR_RETURN(auto m, model::load_model(model_dir));
  const model::ModelConfig& c = m->config();
  if (o.structured && c.family != model::ArchFamily::kDense)
    return invalid_argument("--structured: only dense (llama / qwen2) models");

  const bool calibrated = o.structured || o.method == PruneMethod::kWanda;
  ChannelNormCollector norms;
  if (calibrated) {
    if (o.calib_tokens.empty())
      return invalid_argument(o.structured ? "--calib: required for --structured"
                                           : "--calib: required for --method wanda");
    const auto windows = split_windows(o.calib_tokens, o.ctx, o.samples);
    if (windows.empty())
      return invalid_argument("--calib: " + std::to_string(o.calib_tokens.size()) +
                              " tokens do not fill one window of --ctx " + std::to_string(o.ctx));
    FATHOM_RETURN_IF_ERROR(run_calibration(
        *m, windows,
        [&](const std::string& prefix, const float* x, int64_t rows, int64_t cols) {
          norms.observe(prefix, x, rows, cols);
        },
        o.progress, "calibration"));
  }
  PruneReport report;
  report.layers = static_cast<int64_t>(targets.size());
  TensorSource src(ck);
  if (o.structured) {
    FATHOM_RETURN_IF_ERROR(prune_structured(c, norms, o, src, report));
    config["intermediate_size"] = report.intermediate_size;
    config["num_attention_heads"] = report.num_heads;
    config["num_key_value_heads"] = report.num_kv_heads;
    config["head_dim"] = c.head_dim;
  } else {
    FATHOM_RETURN_IF_ERROR(
        prune_unstructured(targets, calibrated ? &norms : nullptr, o, src, report));
  }
  FATHOM_RETURN_IF_ERROR(write_model_folder(model_dir, out_dir, config,
                                            merge_tensors(ck, src.drop, std::move(src.add))));
  return report;
}

}  // namespace fathom::quant
