#include "plan/sizing.h"

#include <algorithm>
#include <cmath>

namespace fathom::plan {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr int64_t kMaxDevices = 64;
constexpr int64_t kMaxBatch = 256;
constexpr int64_t kStepTokens = 2048;  // tokens per engine step (fathom's default token budget)

// Share of device memory an engine may use (the rest: fragmentation, the driver, spikes).
double usable_share(const Device& d) { return d.kind == DeviceKind::kCpu ? 0.85 : 0.92; }

// Per-device runtime: the CUDA/CANN context and allocator pools, or the process on a CPU.
int64_t runtime_bytes(const Device& d) {
  return d.kind == DeviceKind::kCpu || d.kind == DeviceKind::kEdge ? (256LL << 20) : (1LL << 30);
}

// Synchronisation per decode step when a replica spans devices: two all-reduces per layer
// (attention and MLP outputs), a few microseconds each over NVLink, more over PCIe/network.
double parallel_overhead_s(const ModelCosts& m, const ReplicaHardware& hw) {
  if (hw.num_devices <= 1) return 0;
  const double per_reduce = hw.device->link_gbps > 0 ? 8e-6 : 30e-6;
  const double cross_node = hw.num_devices > hw.device->max_per_node ? 3.0 : 1.0;
  return 2.0 * static_cast<double>(m.config->num_layers) * per_reduce * cross_node;
}

// KV bytes a sequence costs the replica: MLA's latent cache is replicated on every tensor-
// parallel rank; GQA heads are split across ranks up to the number of KV heads.
int64_t kv_replica_factor(const model::ModelConfig& c, int64_t n) {
  if (c.family == model::ArchFamily::kDeepseek) return n;
  return std::max<int64_t>(1, n / std::max<int64_t>(1, c.num_kv_heads));
}

}  // namespace

double decode_step_seconds(const ModelCosts& m, const ReplicaHardware& hw, int64_t batch,
                           int64_t context) {
  const double n = static_cast<double>(hw.num_devices), b = static_cast<double>(batch);
  const double bytes = decode_weight_bytes(m.weights, batch) +
                       b * static_cast<double>(m.kv_bytes_per_token * context);
  const double t_mem = bytes / (n * hw.device->bandwidth_gbps * 1e9 * hw.efficiency.bandwidth);
  const double flops = b * (static_cast<double>(m.weights.linear_flops_per_token) +
                            attention_flops_per_token(*m.config, context));
  const double t_compute = flops / (n * hw.device->bf16_tflops * 1e12 * hw.efficiency.compute);
  return std::max(t_mem, t_compute) + parallel_overhead_s(m, hw);
}

double prefill_seconds(const ModelCosts& m, const ReplicaHardware& hw, int64_t prompt_tokens) {
  const double n = static_cast<double>(hw.num_devices), p = static_cast<double>(prompt_tokens);
  const double flops = p * (static_cast<double>(m.weights.linear_flops_per_token) +
                            attention_flops_per_token(*m.config, prompt_tokens / 2));
  const double t_compute = flops / (n * hw.device->bf16_tflops * 1e12 * hw.efficiency.compute);
  // A prompt is processed in steps of kStepTokens; each step reads the weights once.
  const double steps = std::ceil(p / kStepTokens);
  const double t_mem =
      steps * decode_weight_bytes(m.weights, std::min<int64_t>(prompt_tokens, kStepTokens)) /
      (n * hw.device->bandwidth_gbps * 1e9 * hw.efficiency.bandwidth);
  return std::max(t_compute, t_mem) + steps * parallel_overhead_s(m, hw);
}

MemoryBreakdown replica_memory(const ModelCosts& m, const Device& device, int64_t num_devices,
                               int64_t context_tokens, int64_t sequences) {
  MemoryBreakdown mb;
  const model::ModelConfig& c = *m.config;
  mb.weights_bytes = m.weights.total_bytes;
  mb.kv_bytes_per_token = m.kv_bytes_per_token;
  mb.kv_bytes_per_sequence =
      m.kv_bytes_per_token * context_tokens * kv_replica_factor(c, num_devices);
  mb.kv_bytes = mb.kv_bytes_per_sequence * sequences;
  // Activations of one engine step (f32): the residual stream and its norms, the widest MLP,
  // attention scratch, and logits for every sequence; each device holds its shard.
  const int64_t mlp =
      std::max(c.intermediate_size,
               c.moe.moe_intermediate_size * std::max<int64_t>(1, c.moe.num_experts_per_tok));
  mb.activation_bytes =
      4 * (kStepTokens * (6 * c.hidden_size + 3 * mlp / num_devices) + sequences * c.vocab_size);
  mb.runtime_bytes = runtime_bytes(device) * num_devices;
  mb.total_bytes = mb.weights_bytes + mb.kv_bytes + mb.activation_bytes + mb.runtime_bytes;
  mb.capacity_bytes =
      static_cast<int64_t>(device.memory_gib * kGiB * usable_share(device)) * num_devices;
  return mb;
}

Sizing size_deployment(const ModelCosts& m, const Workload& w, const Device& device,
                       Efficiency eff) {
  Sizing s;
  s.device_id = device.id;
  const model::ModelConfig& c = *m.config;
  s.context_tokens = std::min<int64_t>(w.prompt.p95 + w.output.p95, c.max_position_embeddings);
  const int64_t mean_context =
      std::min<int64_t>(w.prompt.mean + w.output.mean / 2, s.context_tokens);

  std::vector<int64_t> counts;
  for (int64_t n = 1; n <= std::min<int64_t>(device.max_per_node, kMaxDevices); n *= 2)
    counts.push_back(n);
  if (device.max_per_node > 1)
    for (int64_t n = 2 * device.max_per_node; n <= kMaxDevices; n += device.max_per_node)
      counts.push_back(n);
  if (device.kind == DeviceKind::kEdge) counts = {1};

  std::string last_reason;
  for (int64_t n : counts) {
    const MemoryBreakdown base = replica_memory(m, device, n, s.context_tokens, 0);
    const int64_t free_bytes = base.capacity_bytes - base.total_bytes - 4 * c.vocab_size;
    if (free_bytes < base.kv_bytes_per_sequence) {
      last_reason = "needs " +
                    std::to_string(static_cast<int64_t>(
                        std::ceil((base.total_bytes + base.kv_bytes_per_sequence) / kGiB))) +
                    " GiB for one full-context sequence, " + std::to_string(n) + " x " + device.id +
                    " offer " + std::to_string(static_cast<int64_t>(base.capacity_bytes / kGiB)) +
                    " GiB usable";
      continue;
    }
    const ReplicaHardware hw{&device, n, eff};
    const int64_t seqs =
        std::min<int64_t>(kMaxBatch, free_bytes / std::max<int64_t>(1, base.kv_bytes_per_sequence));
    const double step1 = decode_step_seconds(m, hw, 1, mean_context);
    const double ttft = prefill_seconds(m, hw, w.prompt.p95) + step1;
    if (step1 * 1000 > w.tpot_ms) {
      last_reason = "one token takes " + std::to_string(static_cast<int64_t>(step1 * 1000)) +
                    " ms on " + std::to_string(n) + " x " + device.id + ", over the " +
                    std::to_string(static_cast<int64_t>(w.tpot_ms)) + " ms TPOT target";
      continue;
    }
    if (ttft * 1000 > w.ttft_ms) {
      last_reason = "a p95 prompt takes " + std::to_string(static_cast<int64_t>(ttft * 1000)) +
                    " ms to first token on " + std::to_string(n) + " x " + device.id +
                    ", over the " + std::to_string(static_cast<int64_t>(w.ttft_ms)) + " ms target";
      continue;
    }
    // The largest batch within the TPOT target (step time grows with batch).
    int64_t batch = 1;
    for (int64_t b = 2; b <= seqs; b *= 2) {
      if (decode_step_seconds(m, hw, b, mean_context) * 1000 > w.tpot_ms) break;
      batch = b;
    }
    const double step = decode_step_seconds(m, hw, batch, mean_context);
    s.feasible = true;
    s.devices_per_replica = n;
    s.tensor_parallel = n;
    s.expert_parallel = c.moe.num_routed_experts > 0 ? n : 1;
    s.max_sequences = seqs;
    s.batch = batch;
    s.tpot_s = step;
    s.ttft_s = ttft;
    s.decode_tokens_per_s_batch1 = 1.0 / step1;
    s.replica_tokens_per_s = static_cast<double>(batch) / step;
    // One request costs the replica its prefill plus its share of the batched decode steps.
    const double per_request_s =
        prefill_seconds(m, hw, w.prompt.mean) +
        static_cast<double>(w.output.mean) * step / static_cast<double>(batch);
    s.replica_requests_per_s = 1.0 / per_request_s;
    s.memory = replica_memory(m, device, n, s.context_tokens, seqs);
    s.min_replicas = INT64_MAX;
    for (size_t h = 0; h < 24; ++h) {
      const double demand = w.requests_per_s * w.hourly[h] * (1.0 + w.headroom);
      s.replicas_by_hour[h] = std::max<int64_t>(
          1, static_cast<int64_t>(std::ceil(demand / s.replica_requests_per_s - 1e-9)));
      s.peak_replicas = std::max(s.peak_replicas, s.replicas_by_hour[h]);
      s.min_replicas = std::min(s.min_replicas, s.replicas_by_hour[h]);
    }
    s.utilisation =
        w.requests_per_s / (static_cast<double>(s.peak_replicas) * s.replica_requests_per_s);
    s.power_kw = static_cast<double>(s.peak_replicas * n * device.tdp_w) / 1000.0;
    return s;
  }
  s.why_not = last_reason.empty() ? "no device count fits" : last_reason;
  return s;
}

}  // namespace fathom::plan
