#include "model/weight_loader.h"

#include <algorithm>
#include <memory>

#include "base/logging.h"
#include "kernels/linear.h"
#include "model/linear_loader.h"
#include "tensor/dtype.h"

namespace fathom::model {

kernels::LinearWeight WeightLoader::linear(const std::string& prefix, int64_t out_features,
                                           int64_t in_features, bool requantize) {
  used_prefixes_.insert(prefix);
  if (cache_)
    if (auto hit = cache_->find(prefix, out_features, in_features)) return std::move(*hit);
  const auto t0 = cache_ ? cache_->clock().now() : Clock::TimePoint{};
  auto w = load_linear(ck_, prefix, cfg_.quant, out_features, in_features);
  if (!w.ok()) {
    problems_.push_back(w.status().message());
    return {};
  }
  w->name = prefix;
  kernels::LinearWeight out = std::move(*w);
  if (requantize_ && requantize) {
    out = kernels::quantize_weight(out, *requantize_, default_thread_pool());
    out.name = prefix;
  }
  if (cache_ && !out.storage.empty()) cache_->add(out, (cache_->clock().now() - t0).count());
  return out;
}

std::vector<float> WeightLoader::vector(const std::string& name, int64_t size) {
  used_prefixes_.insert(name);
  std::vector<float> out(static_cast<size_t>(size), 0.0f);
  const formats::TensorView* t = ck_.find(name);
  if (!t) {
    problems_.push_back(name + ": missing (expected shape [" + std::to_string(size) + "])");
    return out;
  }
  if (t->numel() != size || t->shape.size() != 1) {
    problems_.push_back(name + ": shape " + formats::shape_string(t->shape) + " expected [" +
                        std::to_string(size) + "] (file " + t->file + ")");
    return out;
  }
  for (int64_t i = 0; i < size; ++i) {
    switch (t->dtype) {
      case DType::kF32: out[i] = t->as<float>()[i]; break;
      case DType::kBF16: out[i] = bf16_to_f32(t->as<uint16_t>()[i]); break;
      case DType::kF16: out[i] = f16_to_f32(t->as<uint16_t>()[i]); break;
      default:
        problems_.push_back(name + ": dtype " + dtype_name(t->dtype) +
                            " is not a float type (file " + t->file + ")");
        return out;
    }
  }
  return out;
}

Status WeightLoader::finish() {
  int64_t num_mtp = 0;
  std::vector<std::string> unexpected;
  const std::string mtp_prefix = "model.layers." + std::to_string(cfg_.num_layers);
  for (const std::string& name : ck_.names()) {
    const auto dot = name.rfind('.');
    const std::string owner = dot == std::string::npos ? name : name.substr(0, dot);
    if (used_prefixes_.count(name) || used_prefixes_.count(owner)) continue;
    // DeepSeek-V3 multi-token-prediction layers sit after the last decoder layer.
    bool is_mtp = false;
    for (int64_t k = 0; k < cfg_.num_nextn_predict_layers; ++k)
      if (name.rfind("model.layers." + std::to_string(cfg_.num_layers + k) + ".", 0) == 0)
        is_mtp = true;
    if (is_mtp) {
      ++num_mtp;
    } else {
      unexpected.push_back(name);
    }
  }
  if (num_mtp > 0)
    FATHOM_LOG(kInfo) << "skipping " << num_mtp << " tensors of " << cfg_.num_nextn_predict_layers
                      << " multi-token-prediction layer(s) (" << mtp_prefix
                      << ".*): speculative decoding with them is not used";
  if (!unexpected.empty()) {
    std::string list;
    for (size_t i = 0; i < unexpected.size() && i < 5; ++i) list += " " + unexpected[i];
    FATHOM_LOG(kWarning) << unexpected.size() << " checkpoint tensor(s) not used by "
                         << cfg_.architecture << ":" << list
                         << (unexpected.size() > 5 ? " ..." : "");
  }
  if (problems_.empty()) return ok_status();
  std::string msg = ck_.dir() + ": " + std::to_string(problems_.size()) +
                    " weight problem(s) for " + cfg_.architecture + ":";
  for (const auto& p : problems_) msg += "\n  " + p;
  return invalid_argument(msg);
}

kernels::LinearWeight slice_weight_rows(const kernels::LinearWeight& w, int64_t row0, int64_t rows,
                                        bool transpose) {
  const int64_t in = w.in_features;
  std::vector<float> dense(static_cast<size_t>(rows * in));
  for (int64_t r = 0; r < rows; ++r) kernels::dequantize_row(w, row0 + r, dense.data() + r * in);
  if (transpose) {
    std::vector<float> t(dense.size());
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = 0; i < in; ++i) t[i * rows + r] = dense[r * in + i];
    dense.swap(t);
  }
  kernels::LinearWeight s;
  s.out_features = transpose ? in : rows;
  s.in_features = transpose ? rows : in;
  if (w.format == kernels::WeightFormat::kBF16) {
    auto buf = std::make_shared<std::vector<uint16_t>>(dense.size());
    std::transform(dense.begin(), dense.end(), buf->begin(), f32_to_bf16);
    s.format = kernels::WeightFormat::kBF16;
    s.values = buf->data();
    s.storage.push_back(std::move(buf));
  } else {
    auto buf = std::make_shared<std::vector<float>>(std::move(dense));
    s.format = kernels::WeightFormat::kF32;
    s.values = buf->data();
    s.storage.push_back(std::move(buf));
  }
  return s;
}

}  // namespace fathom::model
