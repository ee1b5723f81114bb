// llama-bench for fathom: prefill (ppN) and decode (tgN at a batch of streams) throughput of a
// loaded model, with the step profile and the achieved FLOP/s and GB/s beside the machine's
// measured limits. Used by `fathom bench model` and `fathom plan calibrate`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "kernels/cpu/machine_probe.h"
#include "model/model.h"

namespace fathom::engine {

struct ModelBenchConfig {
  std::vector<int32_t> prompt_lengths{512};  ///< one ppN test each (prefill of one sequence)
  int32_t gen_tokens = 128;                  ///< tokens per stream in the tgN tests; 0 skips them
  std::vector<int32_t> batches{1};           ///< concurrent streams for each tgN test
  int32_t depth = 0;  ///< tokens already in every sequence's cache before a test starts
  int32_t reps = 1;   ///< timed repetitions per test (the figures are their mean)
  int32_t block_size = 16;
  kernels::KvDtype kv_dtype = kernels::KvDtype::kF32;  ///< the cache's element type
};

struct ModelBenchRow {
  std::string test;  ///< "pp512", "tg128"
  int32_t batch = 1;
  int32_t depth = 0;
  int64_t tokens = 0;  ///< tokens processed in the timed repetitions
  double seconds = 0;  ///< their total time
  double tokens_per_s = 0;
  double gflops = 0;  ///< linear FLOPs / time
  double gbps = 0;    ///< weight bytes the linear kernels read / time
  model::StepProfile profile;
};

struct ModelBenchReport {
  std::string model;
  kernels::cpu::MachineLimits machine;
  model::Model::WeightBytes weights;
  kernels::KvDtype kv_dtype = kernels::KvDtype::kF32;
  int64_t kv_bytes_per_token = 0;
  std::vector<ModelBenchRow> rows;
  /// The instruction the model's linear kernels multiply with and its measured peak, which
  /// "% peak" is of (machine.peak_gflops where it is the fp32 FMA).
  kernels::cpu::DotPeak compute = kernels::cpu::DotPeak::kFma;
  double compute_peak_gflops = 0;
  /// The peak "% peak" is of: compute_peak_gflops where measured, else machine.peak_gflops.
  double compute_peak() const {
    return compute_peak_gflops > 0 ? compute_peak_gflops : machine.peak_gflops;
  }
};

/// Runs every test of `cfg` on `m`. A config the model cannot hold (longer than its context) is
/// an InvalidArgument before anything runs.
Result<std::vector<ModelBenchRow>> run_model_bench(model::Model& m, const ModelBenchConfig& cfg);

/// A llama-bench-like table with ratios to the machine's limits and each test's op shares.
std::string model_bench_table(const ModelBenchReport& r);
/// {"model", "threads", "isa", "weights_bytes", "weights_bytes_per_token",
///  "machine": {"read_gbps", "peak_gflops", "compute_peak_gflops", "compute_peak_instruction"},
///  "results": [{"test", "batch", "depth", "tokens",
///  "seconds", "tokens_per_s", "gbps", "gflops", "ops": {op: {"seconds", "share"}}}]}
std::string model_bench_json(const ModelBenchReport& r);

}  // namespace fathom::engine
