#include "quant/awq.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>

#include "base/thread_pool.h"
#include "quant/calibration.h"
#include "quant/linear_targets.h"
#include "quant/model_writer.h"
#include "quant/progress.h"
#include "quant/quant_pack.h"

namespace fathom::quant {

namespace {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
constexpr int kGrid = 20;

/// Round-to-nearest on the AWQ grid, dequantized: what the layer computes with after packing.
void fake_quantize(RowMat& w, const GroupQuantParams& p) {
  const GroupQuantized q = rtn_quantize(w.data(), w.rows(), w.cols(), p);
  for (int64_t o = 0; o < w.rows(); ++o)
    for (int64_t i = 0; i < w.cols(); ++i) w(o, i) = q.dequant(o, i);
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string replace_tail(const std::string& s, const std::string& tail, const std::string& with) {
  return s.substr(0, s.size() - tail.size()) + with;
}

/// What produces a key layer's input, where scales can be divided out: an RMSNorm weight
/// (checkpoint tensor name) or a linear's output rows (its prefix). Empty: not scaled.
struct ScaleSink {
  std::string norm;    ///< "model.layers.0.input_layernorm.weight"
  std::string linear;  ///< "model.layers.0.mlp.up_proj"
};

ScaleSink sink_of(const std::string& key) {
  if (ends_with(key, "self_attn.q_proj"))
    return {replace_tail(key, "self_attn.q_proj", "input_layernorm.weight"), ""};
  if (ends_with(key, "mlp.gate_proj"))
    return {replace_tail(key, "mlp.gate_proj", "post_attention_layernorm.weight"), ""};
  if (ends_with(key, "mlp.down_proj")) return {"", replace_tail(key, "down_proj", "up_proj")};
  return {};  // o_proj and others: AutoAWQ skips o_proj under GQA; we skip it always
}

}  // namespace

std::vector<float> awq_search_scales(const float* x, int64_t rows, int64_t in,
                                     const std::vector<const float*>& ws,
                                     const std::vector<int64_t>& outs, const GroupQuantParams& p,
                                     double* alpha_out) {
  const Eigen::Map<const RowMat> X(x, rows, in);
  const Eigen::VectorXf x_mean = X.cwiseAbs().colwise().mean().transpose();
  std::vector<RowMat> w(ws.size()), ref(ws.size());
  for (size_t k = 0; k < ws.size(); ++k) {
    w[k] = Eigen::Map<const RowMat>(ws[k], outs[k], in);
    ref[k] = X * w[k].transpose();  // [rows, out]
  }
  // Each alpha of the grid is independent: one per thread.
  std::vector<double> losses(kGrid, 0.0);
  std::vector<Eigen::VectorXf> scales(kGrid);
  default_thread_pool().parallel_for(kGrid, [&](int64_t g0, int64_t g1) {
    for (int64_t g = g0; g < g1; ++g) {
      const float alpha = static_cast<float>(g) / kGrid;
      Eigen::VectorXf s(in);
      for (int64_t i = 0; i < in; ++i) s[i] = std::max(std::pow(x_mean[i], alpha), 1e-4f);
      s /= std::sqrt(s.maxCoeff() * s.minCoeff());
      double loss = 0.0;
      int64_t count = 0;
      for (size_t k = 0; k < ws.size(); ++k) {
        RowMat wq = w[k] * s.asDiagonal();
        fake_quantize(wq, p);
        wq = wq * s.cwiseInverse().asDiagonal();
        loss += (X * wq.transpose() - ref[k]).squaredNorm();
        count += rows * outs[k];
      }
      losses[g] = loss / static_cast<double>(count);
      scales[g] = std::move(s);
    }
  });
  // The first smallest loss, as a sequential scan over the grid would pick.
  const int64_t best = std::min_element(losses.begin(), losses.end()) - losses.begin();
  const double best_alpha = static_cast<double>(best) / kGrid;
  std::vector<float> best_s(scales[best].data(), scales[best].data() + in);
  if (alpha_out) *alpha_out = best_alpha;
  return best_s;
}

Result<std::vector<formats::OwnedTensor>> awq_quantize_model(const AwqInputs& in) {
  GroupQuantParams p = in.params;
  p.rule = GridRule::kAwq;
  FATHOM_ASSIGN_OR_RETURN(std::vector<LinearTarget> targets, find_linear_targets(in.ck));
  const int64_t total_rows = static_cast<int64_t>(in.windows.size()) *
                             static_cast<int64_t>(in.windows.empty() ? 0 : in.windows[0].size());
  ActivationSampler sampler(std::max<int64_t>(1, total_rows / in.max_rows), in.max_rows);
  FATHOM_RETURN_IF_ERROR(run_calibration(
      in.m, in.windows,
      [&](const std::string& prefix, const float* x, int64_t rows, int64_t cols) {
        sampler.observe(prefix, x, rows, cols);
      },
      in.progress, "calibration"));

  // Float weights of every target; scales fold into them before quantization.
  std::map<std::string, RowMat> weights;
  std::map<std::string, std::vector<LinearTarget>> groups;  // key -> the layers reading it
  for (const LinearTarget& t : targets) {
    FATHOM_ASSIGN_OR_RETURN(std::vector<float> w, tensor_floats(*in.ck.find(t.prefix + ".weight")));
    weights[t.prefix] = Eigen::Map<const RowMat>(w.data(), t.out, t.in);
    groups[input_key(t.prefix)].push_back(t);
  }
  std::vector<formats::OwnedTensor> out;
  ProgressBar bar(in.progress, "awq search", static_cast<int64_t>(groups.size()));
  int64_t done = 0;
  for (const auto& [key, members] : groups) {
    bar.update(done++);
    const ScaleSink sink = sink_of(key);
    const ActivationSampler::Rows* x = sampler.rows(key);
    const bool sink_ok =
        !sink.norm.empty() ? in.ck.find(sink.norm) != nullptr : weights.count(sink.linear) > 0;
    if (!x || (sink.norm.empty() && sink.linear.empty()) || !sink_ok) continue;
    std::vector<const float*> ws;
    std::vector<int64_t> outs;
    for (const LinearTarget& t : members) {
      ws.push_back(weights[t.prefix].data());
      outs.push_back(t.out);
    }
    const std::vector<float> s =
        awq_search_scales(x->values.data(), x->count, x->cols, ws, outs, p);
    const Eigen::Map<const Eigen::VectorXf> sv(s.data(), static_cast<Eigen::Index>(s.size()));
    for (const LinearTarget& t : members) weights[t.prefix] = weights[t.prefix] * sv.asDiagonal();
    if (!sink.norm.empty()) {
      const formats::TensorView* nt = in.ck.find(sink.norm);
      FATHOM_ASSIGN_OR_RETURN(std::vector<float> g, tensor_floats(*nt));
      if (static_cast<int64_t>(g.size()) != x->cols)
        return invalid_argument(sink.norm + ": size " + std::to_string(g.size()) +
                                " does not match the input of " + key);
      for (size_t i = 0; i < g.size(); ++i) g[i] /= s[i];
      out.push_back(float_tensor(nt->name, nt->dtype, nt->shape, g));
    } else {
      RowMat& up = weights[sink.linear];
      up = sv.cwiseInverse().asDiagonal() * up;  // its output rows feed down_proj's columns
    }
  }
  bar.update(done);
  for (const LinearTarget& t : targets) {
    const RowMat& w = weights[t.prefix];
    for (auto& tensor : pack_awq(t.prefix, rtn_quantize(w.data(), t.out, t.in, p)))
      out.push_back(std::move(tensor));
  }
  return out;
}

}  // namespace fathom::quant
