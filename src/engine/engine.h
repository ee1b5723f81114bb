// The engine: owns the model, the paged KV cache and the scheduler, and runs the step loop on
// its own thread. Thread-safe client API: submit() never blocks on the loop; updates arrive
// through the request's callback, on the engine thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/histogram.h"
#include "base/status.h"
#include "engine/request.h"
#include "engine/spec/spec_config.h"
#include "engine/spec/spec_stats.h"
#include "model/model.h"

namespace fathom::engine {

struct EngineConfig {
  int32_t block_size = 16;
  int32_t num_kv_blocks = 0;             ///< 0: derive from kv_cache_bytes
  int64_t kv_cache_bytes = 256ll << 20;
  /// The cache's element type; nullopt: model::auto_kv_cache_dtype (serve --kv-cache-dtype auto).
  std::optional<kernels::KvDtype> kv_cache_dtype = kernels::KvDtype::kF32;
  int64_t max_num_batched_tokens = 512;  ///< token budget per step (prefill chunks + decodes)
  int32_t max_num_seqs = 64;             ///< running sequences per step
  int32_t max_waiting = 256;             ///< queued requests before submit() says ResourceExhausted
  int64_t max_model_len = 0;             ///< 0: the model's max_position_embeddings
  bool enable_prefix_caching = true;
  /// > 0: log where the forward passes of the last interval spent their time (serve --profile).
  double profile_log_interval_s = 0;
  /// Speculative decoding (docs/speculative.md); kMtp needs the model loaded with load_mtp.
  spec::SpecConfig spec;
};

/// A snapshot for /metrics. Counters only grow.
struct EngineStats {
  int64_t num_running = 0;
  int64_t num_waiting = 0;
  int32_t num_kv_blocks = 0;
  int32_t num_free_kv_blocks = 0;  ///< free or evictable (cached but unreferenced)
  double kv_cache_usage = 0.0;     ///< fraction of blocks referenced by requests
  int64_t prefix_cache_queries = 0;  ///< prompt tokens looked up
  int64_t prefix_cache_hits = 0;     ///< of which served from the cache
  int64_t num_preemptions = 0;
  int64_t prompt_tokens_total = 0;
  int64_t generation_tokens_total = 0;
  model::StepProfile step_profile;                   ///< forward time per op since start
  spec::SpecStats spec;                              ///< drafted and accepted tokens
  std::map<std::string, int64_t> requests_finished;  ///< by finish reason
  std::vector<std::string> running_lora_adapters;    ///< names, sorted
  std::vector<std::string> waiting_lora_adapters;
  HistogramSnapshot time_to_first_token_s, inter_token_latency_s, e2e_latency_s, queue_time_s;
};

class Engine {
 public:
  /// Allocates the KV cache and starts the loop thread.
  static Result<std::unique_ptr<Engine>> create(std::unique_ptr<model::Model> model,
                                                EngineConfig cfg, const Clock& clock);
  ~Engine();  ///< aborts what is left and joins the loop thread

  /// InvalidArgument: bad parameters, empty prompt or prompt + max_tokens over the context
  /// limit (message names the numbers). ResourceExhausted: waiting queue full.
  /// Unavailable: draining. AlreadyExists-like InvalidArgument: duplicate request id.
  Status submit(EngineRequest req, UpdateCallback on_update);

  /// Finishes the request with FinishReason::kAbort and frees its KV blocks at the next step.
  /// Unknown or finished ids are ignored. Safe from any thread, including callbacks.
  void cancel(const std::string& request_id);

  /// Stops admitting (submit() -> Unavailable) and blocks until nothing is waiting or running.
  void drain();

  EngineStats stats() const;
  const model::ModelConfig& model_config() const;
  /// The projections LoRA adapters may target (for loading adapters against this model).
  const model::lora::TargetTable& lora_targets() const;
  int64_t max_model_len() const;

 private:
  Engine() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fathom::engine
