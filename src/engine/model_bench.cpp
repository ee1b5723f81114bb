#include "engine/model_bench.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace fathom::engine {
namespace {

using Clock = std::chrono::steady_clock;

/// `batch` sequences of up to `max_len` tokens, each with its own run of cache blocks.
struct BenchSequences {
  runtime::KvStorage kv;
  std::vector<std::vector<int32_t>> block_tables;
};

Result<BenchSequences> make_sequences(const model::Model& m, int32_t batch, int32_t max_len,
                                      int32_t block_size, kernels::KvDtype kv_dtype) {
  const int32_t per_seq = (max_len + block_size - 1) / block_size;
  FATHOM_ASSIGN_OR_RETURN(
      runtime::KvStorage kv,
      runtime::KvStorage::allocate(m.kv_layout(), per_seq * batch, block_size, kv_dtype));
  BenchSequences s{std::move(kv), {}};
  for (int32_t i = 0; i < batch; ++i) {
    s.block_tables.emplace_back();
    for (int32_t k = 0; k < per_seq; ++k) s.block_tables.back().push_back(i * per_seq + k);
  }
  return s;
}

/// A batch of `len` tokens at positions [start, start + len) for each of `seqs`; logits for
/// each sequence's last token only (what serving asks for).
model::ForwardBatch make_batch(const BenchSequences& s, const std::vector<int32_t>& seqs,
                               int32_t start, int32_t len, int64_t vocab) {
  model::ForwardBatch b;
  b.block_tables = s.block_tables;
  for (int32_t seq : seqs)
    for (int32_t i = 0; i < len; ++i) {
      const int64_t p = start + i;
      b.token_ids.push_back(static_cast<int32_t>((seq * 7919 + p * 131 + 17) % vocab));
      b.positions.push_back(static_cast<int32_t>(p));
      b.seq_idx.push_back(seq);
      if (i == len - 1) b.output_rows.push_back(static_cast<int32_t>(b.token_ids.size() - 1));
    }
  return b;
}

std::vector<int32_t> iota(int32_t n) {
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = i;
  return v;
}

/// Fills the cache of every sequence with `depth` tokens (untimed).
Status prefill_depth(model::Model& m, BenchSequences& s, int32_t depth,
                     std::vector<float>& logits) {
  if (depth == 0) return ok_status();
  const int64_t vocab = m.config().vocab_size;
  for (int32_t seq = 0; seq < static_cast<int32_t>(s.block_tables.size()); ++seq)
    FATHOM_RETURN_IF_ERROR(m.forward(make_batch(s, {seq}, 0, depth, vocab), s.kv, logits));
  return ok_status();
}

ModelBenchRow finish_row(std::string test, int32_t batch, int32_t depth, int64_t tokens,
                         double seconds, const model::StepProfile& p) {
  ModelBenchRow r{std::move(test), batch, depth, tokens, seconds, 0, 0, 0, p};
  if (seconds <= 0) return r;
  r.tokens_per_s = static_cast<double>(tokens) / seconds;
  const model::OpStats& lin = p[model::Op::kLinear];
  const model::OpStats& head = p[model::Op::kLmHead];
  r.gflops = static_cast<double>(lin.flops + head.flops) / seconds / 1e9;
  r.gbps = static_cast<double>(lin.weight_bytes + head.weight_bytes) / seconds / 1e9;
  return r;
}

Result<ModelBenchRow> run_prefill(model::Model& m, const ModelBenchConfig& cfg, int32_t len) {
  const int64_t vocab = m.config().vocab_size;
  FATHOM_ASSIGN_OR_RETURN(BenchSequences s,
                          make_sequences(m, 1, cfg.depth + len, cfg.block_size, cfg.kv_dtype));
  std::vector<float> logits;
  // Warm-up (first touch of the weights and buffers), then the timed repetitions, each over
  // the same positions after the same depth.
  FATHOM_RETURN_IF_ERROR(prefill_depth(m, s, cfg.depth, logits));
  FATHOM_RETURN_IF_ERROR(m.forward(make_batch(s, {0}, cfg.depth, len, vocab), s.kv, logits));
  m.reset_profile();
  double seconds = 0;
  for (int32_t rep = 0; rep < cfg.reps; ++rep) {
    const model::ForwardBatch b = make_batch(s, {0}, cfg.depth, len, vocab);
    const auto t0 = Clock::now();
    FATHOM_RETURN_IF_ERROR(m.forward(b, s.kv, logits));
    seconds += std::chrono::duration<double>(Clock::now() - t0).count();
  }
  return finish_row("pp" + std::to_string(len), 1, cfg.depth, int64_t{len} * cfg.reps, seconds,
                    m.profile());
}

Result<ModelBenchRow> run_decode(model::Model& m, const ModelBenchConfig& cfg, int32_t batch) {
  const int64_t vocab = m.config().vocab_size;
  const int32_t n = cfg.gen_tokens;
  FATHOM_ASSIGN_OR_RETURN(
      BenchSequences s, make_sequences(m, batch, cfg.depth + n + 1, cfg.block_size, cfg.kv_dtype));
  std::vector<float> logits;
  FATHOM_RETURN_IF_ERROR(prefill_depth(m, s, cfg.depth, logits));
  const std::vector<int32_t> seqs = iota(batch);
  // Warm-up step at the position after the timed ones (it is overwritten by nothing).
  FATHOM_RETURN_IF_ERROR(m.forward(make_batch(s, seqs, cfg.depth + n, 1, vocab), s.kv, logits));
  m.reset_profile();
  double seconds = 0;
  for (int32_t rep = 0; rep < cfg.reps; ++rep) {
    for (int32_t step = 0; step < n; ++step) {
      const model::ForwardBatch b = make_batch(s, seqs, cfg.depth + step, 1, vocab);
      const auto t0 = Clock::now();
      FATHOM_RETURN_IF_ERROR(m.forward(b, s.kv, logits));
      seconds += std::chrono::duration<double>(Clock::now() - t0).count();
    }
  }
  return finish_row("tg" + std::to_string(n), batch, cfg.depth, int64_t{n} * batch * cfg.reps,
                    seconds, m.profile());
}

}  // namespace

Result<std::vector<ModelBenchRow>> run_model_bench(model::Model& m, const ModelBenchConfig& cfg) {
  const int64_t ctx = m.config().max_position_embeddings;
  if (cfg.reps < 1) return invalid_argument("reps must be at least 1");
  if (cfg.depth < 0 || cfg.gen_tokens < 0)
    return invalid_argument("depth and gen tokens must be >= 0");
  for (int32_t p : cfg.prompt_lengths)
    if (p < 1 || cfg.depth + p > ctx)
      return invalid_argument("prompt length " + std::to_string(p) + " (after depth " +
                              std::to_string(cfg.depth) + ") must be in [1, the context of " +
                              std::to_string(ctx) + "]");
  if (cfg.gen_tokens > 0 && cfg.depth + cfg.gen_tokens + 1 > ctx)
    return invalid_argument("depth + gen tokens exceeds the model's context of " +
                            std::to_string(ctx));
  for (int32_t b : cfg.batches)
    if (b < 1 || b > 4096) return invalid_argument("batch sizes must be in [1, 4096]");

  std::vector<ModelBenchRow> rows;
  for (int32_t p : cfg.prompt_lengths) {
    FATHOM_ASSIGN_OR_RETURN(ModelBenchRow r, run_prefill(m, cfg, p));
    rows.push_back(std::move(r));
  }
  if (cfg.gen_tokens > 0)
    for (int32_t b : cfg.batches) {
      FATHOM_ASSIGN_OR_RETURN(ModelBenchRow r, run_decode(m, cfg, b));
      rows.push_back(std::move(r));
    }
  return rows;
}

std::string model_bench_table(const ModelBenchReport& r) {
  const auto& mach = r.machine;
  std::string out;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "model: %s\nweights: %.1f MB (%.1f MB read per decoded token)\n"
                "machine: %d threads, %s, read bandwidth %.1f GB/s, f32 FMA peak %.0f GFLOP/s\n",
                r.model.c_str(), r.weights.total / 1e6, r.weights.per_token / 1e6, mach.threads,
                kernels::cpu::isa_name(mach.isa), mach.read_gbps, mach.peak_gflops);
  out += buf;
  const double peak = r.compute_peak();
  if (r.compute != kernels::cpu::DotPeak::kFma) {
    std::snprintf(buf, sizeof buf, "linear kernels: %s, peak %.0f GFLOP/s (%% peak below)\n",
                  kernels::cpu::dot_peak_name(r.compute), peak);
    out += buf;
  }
  std::snprintf(buf, sizeof buf, "kv cache: %s, %lld bytes per token\n\n",
                model::kv_cache_dtype_name(r.kv_dtype),
                static_cast<long long>(r.kv_bytes_per_token));
  out += buf;
  out +=
      "| test   | batch | depth |    tokens/s |  GFLOP/s | % peak |   GB/s | % read bw | time per "
      "op\n";
  out +=
      "|--------|------:|------:|------------:|---------:|-------:|-------:|----------:|-----------"
      "-\n";
  for (const ModelBenchRow& row : r.rows) {
    std::snprintf(buf, sizeof buf,
                  "| %-6s | %5d | %5d | %11.2f | %8.1f | %5.1f%% | %6.2f | %8.1f%% | %s\n",
                  row.test.c_str(), row.batch, row.depth, row.tokens_per_s, row.gflops,
                  peak > 0 ? 100.0 * row.gflops / peak : 0.0, row.gbps,
                  mach.read_gbps > 0 ? 100.0 * row.gbps / mach.read_gbps : 0.0,
                  model::profile_summary(row.profile).c_str());
    out += buf;
  }
  return out;
}

std::string model_bench_json(const ModelBenchReport& r) {
  nlohmann::json j;
  j["model"] = r.model;
  j["threads"] = r.machine.threads;
  j["isa"] = kernels::cpu::isa_name(r.machine.isa);
  j["weights_bytes"] = r.weights.total;
  j["weights_bytes_per_token"] = r.weights.per_token;
  j["kv_cache_dtype"] = model::kv_cache_dtype_name(r.kv_dtype);
  j["kv_bytes_per_token"] = r.kv_bytes_per_token;
  j["machine"] = {{"read_gbps", r.machine.read_gbps},
                  {"peak_gflops", r.machine.peak_gflops},
                  {"compute_peak_gflops", r.compute_peak()},
                  {"compute_peak_instruction", kernels::cpu::dot_peak_name(r.compute)}};
  j["results"] = nlohmann::json::array();
  for (const ModelBenchRow& row : r.rows) {
    nlohmann::json ops = nlohmann::json::object();
    for (int i = 0; i < model::kNumOps; ++i) {
      const auto op = static_cast<model::Op>(i);
      const double s = static_cast<double>(row.profile[op].ns) / 1e9;
      ops[model::op_name(op)] = {
          {"seconds", s},
          {"share", row.profile.forward_ns > 0
                        ? s * 1e9 / static_cast<double>(row.profile.forward_ns)
                        : 0.0}};
    }
    j["results"].push_back({{"test", row.test},
                            {"batch", row.batch},
                            {"depth", row.depth},
                            {"tokens", row.tokens},
                            {"seconds", row.seconds},
                            {"tokens_per_s", row.tokens_per_s},
                            {"gbps", row.gbps},
                            {"gflops", row.gflops},
                            {"ops", ops}});
  }
  return j.dump(2) + "\n";
}

}  // namespace fathom::engine
