// The reduced-precision contract of bf16 dot products (ActivationPrecision::kReduced on bf16 and
// f16 weights): what the AVX-512 BF16 kernels (cpu/linear_bf16_avx512.cpp) compute, and the
// oracle they are checked against.
#pragma once

#include <cstdint>

#include "kernels/linear_weight.h"

namespace fathom::kernels {

/// f as bf16 the way vcvtne2ps2bf16 rounds it: round to nearest even, NaN to a quiet NaN, and
/// zero or denormal inputs to a zero of the same sign (the instruction's DAZ).
uint16_t bf16_round(float f);

/// True for the weight formats kReduced multiplies in bf16 (kBF16, kF16).
bool bf16_reduced_format(const LinearWeight& w);

/// The oracle of kReduced for bf16_reduced_format weights: x rounded with bf16_round, f16
/// weights rounded with bf16_round too, bf16 weights that are denormal taken as zero (vdpbf16ps
/// treats denormal inputs as zero), products and sums in double. Against linear_ref its error is
/// at most 2^-8 (2^-7 for f16 weights) of sum |x * W| per output, plus double rounding.
void linear_ref_bf16(const LinearWeight& w, const float* x, int64_t num_rows, float* y);

}  // namespace fathom::kernels
