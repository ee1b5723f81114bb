// Linear-layer kernels over any LinearWeight format.
#pragma once

#include <cstdint>

#include "base/thread_pool.h"
#include "kernels/linear_weight.h"

namespace fathom::kernels {

/// Reference (the oracle): scalar, single-threaded, dequantizes one element at a time and
/// accumulates in double. x: [num_rows, in], y: [num_rows, out], both row-major float.
void linear_ref(const LinearWeight& w, const float* x, int64_t num_rows, float* y);

/// The oracle of ActivationPrecision::kReduced for weights the integer kernels take
/// (int_dot_applies in quantize_activations.h; linear_ref for any other): x quantized per block
/// exactly as the kernels do (quantize_activation_block), exact integer sums of code x weight
/// code per block, each scaled by weight scale x block scale in double; columns past the
/// quantized span in fp32. GGML blocks (kernels/ggml_int.h): per weight block the exact sums of
/// code x scale x q and code x min, times d and dmin and x's block scale.
void linear_ref_reduced(const LinearWeight& w, const float* x, int64_t num_rows, float* y);

/// How the fast path may round x before multiplying.
///   kExact   x stays fp32: linear_cpu equals linear_ref up to fp32 rounding (the default;
///            the fixture parity tests run on it).
///   kReduced a kernel may take x rounded to the weight's precision, as llama.cpp does: bf16
///            for bf16/f16 weights (AVX-512 vdpbf16ps), int8 per block for integer weights
///            (vpdpbusd) -- faster, with that rounding's error (fathom serve --activations).
enum class ActivationPrecision : uint8_t { kExact, kReduced };
const char* activation_precision_name(ActivationPrecision a);

/// Fast CPU path (threads + SIMD with run-time CPU-feature dispatch). Same contract; parity
/// with linear_ref is tested on many shapes.
void linear_cpu(const LinearWeight& w, const float* x, int64_t num_rows, float* y, ThreadPool& pool,
                ActivationPrecision act = ActivationPrecision::kExact);

/// Dequantizes row `row` of W into out[in_features] (embedding lookups, tests).
void dequantize_row(const LinearWeight& w, int64_t row, float* out);

}  // namespace fathom::kernels
