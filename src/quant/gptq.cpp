#include "quant/gptq.h"

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

namespace fathom::quant {

bool inverse_cholesky_upper(const Eigen::MatrixXf& h, Eigen::MatrixXf& u) {
  // J H J = L' L'^T (J reverses indices) gives H = V V^T with V = J L' J upper triangular,
  // so H^-1 = V^-T V^-1 and U = V^-1 is the upper factor of H^-1.
  const Eigen::Index n = h.rows();
  const Eigen::MatrixXf flipped = h.reverse();
  Eigen::LLT<Eigen::MatrixXf> llt(flipped);
  if (llt.info() != Eigen::Success) return false;
  const Eigen::MatrixXf v = Eigen::MatrixXf(llt.matrixL()).reverse();  // upper
  u = v.triangularView<Eigen::Upper>().solve(Eigen::MatrixXf::Identity(n, n));
  u.triangularView<Eigen::StrictlyLower>().setZero();
  return u.allFinite();
}

Result<GroupQuantized> gptq_quantize(const float* w, int64_t out_features, int64_t in_features,
                                     const Eigen::MatrixXf& hessian, const GroupQuantParams& p) {
  FATHOM_RETURN_IF_ERROR(check_group_shape(out_features, in_features, p));
  if (hessian.rows() != in_features || hessian.cols() != in_features)
    return invalid_argument("gptq: Hessian is " + std::to_string(hessian.rows()) + "x" +
                            std::to_string(hessian.cols()) + ", expected " +
                            std::to_string(in_features) + " square");
  const int64_t n = in_features;
  const int64_t gs = p.group_size == -1 ? n : p.group_size;
  const int32_t maxq = (1 << p.bits) - 1;

  // W: [out, in] column-major, so a column is contiguous.
  Eigen::MatrixXf W =
      Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
          w, out_features, n);
  Eigen::MatrixXf H = hessian;
  for (int64_t i = 0; i < n; ++i) {
    if (H(i, i) == 0.0f) {
      H(i, i) = 1.0f;
      W.col(i).setZero();
    }
  }
  std::vector<int32_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  if (p.act_order) {
    std::stable_sort(perm.begin(), perm.end(),
                     [&](int32_t a, int32_t b) { return H(a, a) > H(b, b); });
    Eigen::MatrixXf Wp(out_features, n), Hp(n, n);
    for (int64_t j = 0; j < n; ++j) Wp.col(j) = W.col(perm[j]);
    for (int64_t j = 0; j < n; ++j)
      for (int64_t k = 0; k < n; ++k) Hp(j, k) = H(perm[j], perm[k]);
    W = std::move(Wp);
    H = std::move(Hp);
  }

  float damp = static_cast<float>(p.damp_percent) * H.diagonal().mean();
  Eigen::MatrixXf Hinv;
  bool ok = false;
  for (int attempt = 0; attempt < 5 && !ok; ++attempt, damp *= 10.0f) {
    Eigen::MatrixXf Hd = H;
    Hd.diagonal().array() += damp;
    ok = inverse_cholesky_upper(Hd, Hinv);
  }
  if (!ok)
    return invalid_argument("gptq: the Hessian is not positive definite even after dampening");

  GroupQuantized r;
  r.out_features = out_features;
  r.in_features = n;
  r.bits = p.bits;
  r.group_size = gs;
  r.num_groups = n / gs;
  r.q.resize(static_cast<size_t>(out_features * n));
  r.scales.resize(static_cast<size_t>(r.num_groups * out_features));
  r.zeros.resize(r.scales.size());
  r.g_idx.resize(static_cast<size_t>(n));

  // Blocks are whole groups, so a group's columns are all up to date when its grid is found.
  const int64_t block = std::max<int64_t>(1, (p.block_size + gs - 1) / gs) * gs;
  std::vector<Grid> grids(static_cast<size_t>(out_features));
  for (int64_t i1 = 0; i1 < n; i1 += block) {
    const int64_t i2 = std::min(i1 + block, n), count = i2 - i1;
    Eigen::MatrixXf W1 = W.middleCols(i1, count);
    Eigen::MatrixXf Err1(out_features, count);
    const Eigen::MatrixXf Hinv1 = Hinv.block(i1, i1, count, count);
    for (int64_t i = 0; i < count; ++i) {
      const int64_t j = i1 + i;  // column in processing order
      const int64_t g = j / gs;
      if (j % gs == 0) {
        for (int64_t o = 0; o < out_features; ++o) {
          grids[o] = find_grid(&W1(o, i), gs, W1.rows(), p);
          r.scales[g * out_features + o] = f32_to_f16_bits(grids[o].scale);
          r.zeros[g * out_features + o] = grids[o].zero;
        }
      }
      const float d = Hinv1(i, i);
      for (int64_t o = 0; o < out_features; ++o) {
        const float wv = W1(o, i);
        const int32_t code = quantize_value(wv, grids[o], maxq);
        r.q[o * n + perm[j]] = static_cast<uint8_t>(code);
        const float dq = static_cast<float>(code - grids[o].zero) * grids[o].scale;
        Err1(o, i) = (wv - dq) / d;
      }
      if (i + 1 < count)
        W1.rightCols(count - i - 1).noalias() -= Err1.col(i) * Hinv1.row(i).tail(count - i - 1);
      r.g_idx[perm[j]] = static_cast<int32_t>(g);
    }
    if (i2 < n) W.rightCols(n - i2).noalias() -= Err1 * Hinv.block(i1, i2, count, n - i2);
  }
  return r;
}

}  // namespace fathom::quant
