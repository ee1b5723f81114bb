#include "model/rope.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace fathom::model {
namespace {

// Dimension index at which a frequency completes `num_rotations` over `max_pos` positions.
double correction_dim(double num_rotations, double dim, double base, double max_pos) {
  return dim * std::log(max_pos / (num_rotations * 2.0 * std::numbers::pi)) / (2.0 * std::log(base));
}

}  // namespace

double yarn_get_mscale(double scale, double m) {
  if (scale <= 1.0) return 1.0;
  return 0.1 * m * std::log(scale) + 1.0;
}

kernels::RopeTable make_rope_table(const RopeConfig& rope, int64_t rot_dim,
                                   int64_t max_position_embeddings, kernels::RopeStyle style) {
  kernels::RopeTable t;
  t.style = style;
  const int64_t half = rot_dim / 2;
  std::vector<double> base_freq(half);
  for (int64_t i = 0; i < half; ++i)
    base_freq[i] = 1.0 / std::pow(rope.theta, static_cast<double>(2 * i) / static_cast<double>(rot_dim));
  std::vector<double> inv = base_freq;

  switch (rope.type) {
    case RopeType::kDefault:
      break;
    case RopeType::kLinear:
      for (auto& f : inv) f /= rope.factor;
      break;
    case RopeType::kLlama3: {
      const double old_ctx = static_cast<double>(rope.original_max_position_embeddings);
      const double low_wavelen = old_ctx / rope.low_freq_factor;
      const double high_wavelen = old_ctx / rope.high_freq_factor;
      for (auto& f : inv) {
        const double wavelen = 2.0 * std::numbers::pi / f;
        if (wavelen > low_wavelen) {
          f /= rope.factor;
        } else if (wavelen >= high_wavelen) {  // medium band: smooth interpolation
          const double smooth = (old_ctx / wavelen - rope.low_freq_factor) /
                                (rope.high_freq_factor - rope.low_freq_factor);
          f = (1.0 - smooth) * f / rope.factor + smooth * f;
        }
      }
      break;
    }
    case RopeType::kYarn: {
      double factor = rope.factor;
      double orig = static_cast<double>(max_position_embeddings);
      if (rope.original_max_position_embeddings > 0) {
        // Like transformers: with an explicit original context, the factor is the ratio.
        orig = static_cast<double>(rope.original_max_position_embeddings);
        factor = static_cast<double>(max_position_embeddings) / orig;
      }
      if (rope.attention_factor) {
        t.attention_factor = static_cast<float>(*rope.attention_factor);
      } else if (rope.mscale != 0.0 && rope.mscale_all_dim != 0.0) {
        t.attention_factor = static_cast<float>(yarn_get_mscale(factor, rope.mscale) /
                                                yarn_get_mscale(factor, rope.mscale_all_dim));
      } else {
        t.attention_factor = static_cast<float>(yarn_get_mscale(factor, 1.0));
      }
      const double dim = static_cast<double>(rot_dim);
      double low = correction_dim(rope.beta_fast, dim, rope.theta, orig);
      double high = correction_dim(rope.beta_slow, dim, rope.theta, orig);
      if (rope.truncate) {
        low = std::floor(low);
        high = std::ceil(high);
      }
      low = std::max(low, 0.0);
      high = std::min(high, dim - 1.0);
      if (low == high) high += 0.001;
      for (int64_t i = 0; i < half; ++i) {
        const double ramp = std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
        const double extrapolation = 1.0 - ramp;  // weight of the original frequency
        inv[i] = base_freq[i] / factor * (1.0 - extrapolation) + base_freq[i] * extrapolation;
      }
      break;
    }
  }
  t.inv_freq.assign(inv.begin(), inv.end());
  return t;
}

float deepseek_softmax_scale(const ModelConfig& cfg) {
  const double qk_head_dim = static_cast<double>(cfg.mla.qk_nope_head_dim + cfg.mla.qk_rope_head_dim);
  double scale = 1.0 / std::sqrt(qk_head_dim);
  if (cfg.rope.type == RopeType::kYarn && cfg.rope.mscale_all_dim != 0.0) {
    const double m = yarn_get_mscale(cfg.rope.factor, cfg.rope.mscale_all_dim);
    scale *= m * m;
  }
  return static_cast<float>(scale);
}

}  // namespace fathom::model
