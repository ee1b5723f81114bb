// What this machine can do at most, measured: the roofline that benchmark figures are set
// against (fathom bench model, fathom plan calibrate).
#pragma once

#include <cstddef>

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

/// Both, on best_isa(). Takes about a second.
MachineLimits probe_machine(ThreadPool& pool);

}  // namespace fathom::kernels::cpu
