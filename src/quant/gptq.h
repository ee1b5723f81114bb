// GPTQ (Frantar et al. 2022, as AutoGPTQ / GPTQModel's fasterquant): quantize W column by
// column in the order of the inverse Hessian's upper Cholesky factor, pushing each column's
// rounding error onto the columns not yet quantized, in lazy blocks.
#pragma once

#include <Eigen/Dense>
#include <cstdint>

#include "base/status.h"
#include "quant/group_quant.h"

namespace fathom::quant {

/// w: [out, in] row-major. hessian: [in, in] symmetric, H = 2/N sum x x^T over the layer's
/// calibration inputs. Dampening adds damp_percent * mean(diag H) to the diagonal (x10 and
/// retried, up to 4 times, while H is not positive definite). Columns whose diag(H) is 0 (an
/// input never seen) are zeroed first, as GPTQ does. With act_order, columns are processed
/// in decreasing diag(H) order and groups are formed in that order (g_idx records them).
/// Group parameters are found from the error-updated columns of the group when its first
/// column comes up, so the result does not depend on block_size.
Result<GroupQuantized> gptq_quantize(const float* w, int64_t out_features, int64_t in_features,
                                     const Eigen::MatrixXf& hessian, const GroupQuantParams& p);

/// U, upper triangular with H^-1 = U^T U (torch.linalg.cholesky(H^-1, upper=True)), from one
/// Cholesky of the reversed H and one triangular inverse; none when H is not positive definite.
bool inverse_cholesky_upper(const Eigen::MatrixXf& h, Eigen::MatrixXf& u);

}  // namespace fathom::quant
