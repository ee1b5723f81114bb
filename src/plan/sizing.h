// Sizing: how many devices one replica needs (tensor/expert parallel split), how many
// sequences fit its memory, how fast it decodes and prefills (a roofline: decode bound by
// memory bandwidth over the bytes a step reads, prefill by compute), and how many replicas
// each hour of the day needs for the traffic plus headroom.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "plan/catalogue.h"
#include "plan/memory_model.h"
#include "plan/model_catalogue.h"
#include "plan/workload.h"

namespace fathom::plan {

/// Shares of the device's peak that real kernels reach; calibrated by `fathom plan calibrate`
/// for this machine's CPU, catalogue defaults elsewhere.
struct Efficiency {
  double bandwidth = 0.75;
  double compute = 0.5;
};

/// One replica's hardware: `num_devices` of `device` working as one model instance.
struct ReplicaHardware {
  const Device* device = nullptr;
  int64_t num_devices = 1;
  Efficiency efficiency;
};

/// Everything the roofline needs about the model.
struct ModelCosts {
  WeightFootprint weights;
  int64_t kv_bytes_per_token = 0;
  const model::ModelConfig* config = nullptr;
};

/// Seconds for one decode step of `batch` sequences whose contexts average `context` tokens.
double decode_step_seconds(const ModelCosts& m, const ReplicaHardware& hw, int64_t batch,
                           int64_t context);
/// Seconds to prefill one prompt of `prompt_tokens`.
double prefill_seconds(const ModelCosts& m, const ReplicaHardware& hw, int64_t prompt_tokens);

struct MemoryBreakdown {
  int64_t weights_bytes = 0;
  int64_t kv_bytes_per_token = 0;
  int64_t kv_bytes_per_sequence = 0;  ///< at the sized context (p95 prompt + p95 output)
  int64_t kv_bytes = 0;               ///< for max_sequences
  int64_t activation_bytes = 0;
  int64_t runtime_bytes = 0;
  int64_t total_bytes = 0;     ///< per replica
  int64_t capacity_bytes = 0;  ///< usable memory of the replica's devices
};

struct Sizing {
  std::string device_id;
  bool feasible = false;
  std::string why_not;  ///< when not feasible
  int64_t devices_per_replica = 0;
  int64_t tensor_parallel = 1;
  int64_t expert_parallel = 1;
  int64_t context_tokens = 0;
  int64_t max_sequences = 0;  ///< per replica, by memory
  int64_t batch = 0;          ///< decode batch that meets the TPOT target
  double tpot_s = 0, ttft_s = 0;
  double decode_tokens_per_s_batch1 = 0;
  double replica_tokens_per_s = 0;  ///< output tokens/s at `batch`
  double replica_requests_per_s = 0;
  std::array<int64_t, 24> replicas_by_hour = {};
  int64_t peak_replicas = 0;
  int64_t min_replicas = 0;
  double utilisation = 0;  ///< mean demand / peak capacity
  double power_kw = 0;     ///< devices at TDP, peak replicas
  MemoryBreakdown memory;
};

/// Sizes `model` on `device` for the workload; tries 1, 2, 4, 8 devices and then whole nodes
/// until memory and the TTFT/TPOT targets are met (up to 64 devices).
Sizing size_deployment(const ModelCosts& m, const Workload& w, const Device& device,
                       Efficiency eff);

/// Memory of one replica holding `sequences` full-context sequences (exposed for tests and
/// for the serve flags).
MemoryBreakdown replica_memory(const ModelCosts& m, const Device& device, int64_t num_devices,
                               int64_t context_tokens, int64_t sequences);

}  // namespace fathom::plan
