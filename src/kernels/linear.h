// Linear-layer kernels over any LinearWeight format.
#pragma once

#include <cstdint>

#include "base/thread_pool.h"
#include "kernels/linear_weight.h"

namespace fathom::kernels {

/// Reference (the oracle): scalar, single-threaded, dequantizes one element at a time and
/// accumulates in double. x: [num_rows, in], y: [num_rows, out], both row-major float.
void linear_ref(const LinearWeight& w, const float* x, int64_t num_rows, float* y);

/// Fast CPU path (threads + SIMD with run-time CPU-feature dispatch). Same contract; parity
/// with linear_ref is tested on many shapes.
void linear_cpu(const LinearWeight& w, const float* x, int64_t num_rows, float* y,
                ThreadPool& pool);

/// Dequantizes row `row` of W into out[in_features] (embedding lookups, tests).
void dequantize_row(const LinearWeight& w, int64_t row, float* out);

}  // namespace fathom::kernels
