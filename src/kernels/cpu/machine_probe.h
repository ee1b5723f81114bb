// What this machine can do at most, measured: the roofline that benchmark figures are set
// against (fathom bench model, fathom plan calibrate).
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/thread_pool.h"
#include "kernels/cpu/linear_cpu_internal.h"

namespace fathom::kernels::cpu {

struct MachineLimits {
  double read_gbps = 0;    ///< streaming read bandwidth of main memory, all pool threads
  double peak_gflops = 0;  ///< f32 fused multiply-add peak of `isa`, all pool threads
  Isa isa = Isa::kScalar;
  int threads = 1;
};

/// Best of `reps` passes that sum a `bytes` buffer (far larger than the caches) split over the
/// pool's threads.
double measure_read_gbps(ThreadPool& pool, size_t bytes = size_t{512} << 20, int reps = 5);
/// Independent FMA chains in registers on every pool thread for about `seconds`.
double measure_peak_gflops(ThreadPool& pool, Isa isa, double seconds = 0.2);

/// The instruction a run's linear kernels multiply with: fp32 FMA, AVX-512 BF16's vdpbf16ps
/// (kReduced bf16 weights) or VNNI's vpdpbusd (kReduced integer weights; on plain AVX2 the
/// vpmaddubsw, vpmaddwd, vpaddd sequence that stands for it), whose peak a run's FLOP/s are set
/// against (counting each multiply-add as 2, as for FMA).
enum class DotPeak : uint8_t { kFma, kBf16, kInt8 };
const char* dot_peak_name(DotPeak kind);
/// Chains of `kind`'s instruction on best_isa(), as measure_peak_gflops; 0 where the CPU lacks it.
double measure_dot_peak_gflops(ThreadPool& pool, DotPeak kind, double seconds = 0.2);

/// Both, on best_isa(). Takes about a second.
MachineLimits probe_machine(ThreadPool& pool);

}  // namespace fathom::kernels::cpu
