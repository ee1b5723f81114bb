// Paged attention time and cache memory per KV cache dtype (float32, bf16, fp8) on one model
// shape, interleaved in one run (fastest of --reps steps each) so the ratios hold on a shared
// machine. Defaults: the
// DeepSeek-R1-Distill-Qwen-1.5B shape (28 layers, 12 query heads, 2 KV heads, head_dim 128),
// decode at a context depth of 2048 for batches 1 and 8 (every sequence at the same depth);
// --prefill 1 times a prompt's prefill instead (every position 0..depth-1 of each sequence is a
// query row) and prints GFLOP/s (QK and PV, causal).
//   attention_bench [--depth 2048] [--batch 1,8] [--layers 28] [--heads 12] [--kv-heads 2]
//                   [--head-dim 128] [--reps 5] [--isa best|scalar|avx2|avx512] [--prefill 0|1]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/attention_cpu.h"

namespace {

using namespace fathom;
using namespace fathom::kernels;

struct Options {
  int32_t depth = 2048, layers = 28, heads = 12, kv_heads = 2, head_dim = 128, reps = 5;
  bool prefill = false;
  std::vector<int32_t> batches{1, 8};
  cpu::Isa isa = cpu::best_isa();
};

std::vector<int32_t> parse_list(const char* s) {
  std::vector<int32_t> out;
  for (const char* p = s; *p;) {
    out.push_back(static_cast<int32_t>(std::strtol(p, const_cast<char**>(&p), 10)));
    if (*p == ',')
      ++p;
    else if (*p)
      break;
  }
  return out;
}

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--depth")
      o.depth = std::atoi(v);
    else if (k == "--layers")
      o.layers = std::atoi(v);
    else if (k == "--heads")
      o.heads = std::atoi(v);
    else if (k == "--kv-heads")
      o.kv_heads = std::atoi(v);
    else if (k == "--head-dim")
      o.head_dim = std::atoi(v);
    else if (k == "--reps")
      o.reps = std::atoi(v);
    else if (k == "--prefill")
      o.prefill = std::atoi(v) != 0;
    else if (k == "--batch")
      o.batches = parse_list(v);
    else if (k == "--isa") {
      bool found = std::strcmp(v, "best") == 0;
      for (cpu::Isa isa : cpu::kAllIsas)
        if (std::strcmp(v, cpu::isa_name(isa)) == 0 && cpu::isa_available(isa)) {
          o.isa = isa;
          found = true;
        }
      if (!found) return false;
    } else {
      return false;
    }
  }
  return (argc % 2) == 1 && o.depth > 0 && o.layers > 0 && o.heads > 0 && o.kv_heads > 0 &&
         o.heads % o.kv_heads == 0 && o.head_dim > 0 && o.reps > 0 && !o.batches.empty();
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, o)) {
    std::fprintf(stderr,
                 "usage: attention_bench [--depth N] [--batch 1,8] [--layers N] [--heads N] "
                 "[--kv-heads N] [--head-dim N] [--reps N] [--isa NAME] [--prefill 0|1]\n");
    return 2;
  }
  ThreadPool& pool = default_thread_pool();
  const int32_t block = 16, entry = 2 * o.kv_heads * o.head_dim;
  const MhaShape shape{o.heads, o.kv_heads, o.head_dim,
                       1.0f / std::sqrt(static_cast<float>(o.head_dim))};
  std::printf(
      "shape: %d layers, %d heads, %d KV heads, head_dim %d; depth %d; isa %s; %d threads\n",
      o.layers, o.heads, o.kv_heads, o.head_dim, o.depth, cpu::isa_name(o.isa), pool.num_threads());
  std::printf(
      "| dtype   | batch | cache MiB (all layers) | attention ms per step (best of reps) | vs "
      "float32 | GFLOP/s |\n"
      "|---------|------:|-----------------------:|-------------------------------------:|---------"
      "--:|--------:|\n");
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (int32_t batch : o.batches) {
    // Every sequence holds `depth` cached positions; one decode row each at position depth - 1.
    const int32_t per_seq = (o.depth + block - 1) / block, blocks = per_seq * batch;
    std::vector<std::vector<int32_t>> tables(static_cast<size_t>(batch));
    std::vector<int32_t> positions, seq_idx, all_pos, all_seq;
    for (int32_t s = 0; s < batch; ++s) {
      for (int32_t b = 0; b < per_seq; ++b) tables[s].push_back(s * per_seq + b);
      positions.push_back(o.depth - 1);
      seq_idx.push_back(s);
      for (int32_t p = 0; p < o.depth; ++p) {
        all_pos.push_back(p);
        all_seq.push_back(s);
      }
    }
    const TokenLayout fill{all_pos.data(), all_seq.data(), &tables,
                           static_cast<int64_t>(all_pos.size())};
    std::vector<float> values(all_pos.size() * entry);
    for (float& v : values) v = nd(rng);
    const TokenLayout decode{positions.data(), seq_idx.data(), &tables, batch};
    const TokenLayout step = o.prefill ? fill : decode;
    std::vector<float> q(static_cast<size_t>(step.num_tokens) * o.heads * o.head_dim),
        out(q.size());
    for (float& v : q) v = nd(rng);
    // Multiply-adds of QK and PV over every layer: each query row sees position + 1 keys.
    double keys_seen = 0;
    for (int64_t t = 0; t < step.num_tokens; ++t) keys_seen += step.positions[t] + 1;
    const double flops = keys_seen * o.heads * o.head_dim * 4.0 * o.layers;
    // The three caches side by side; each repetition times one step (every layer) of each in
    // turn, and the fastest repetition counts: load from other processes only adds time.
    struct Run {
      KvDtype dtype;
      std::vector<uint8_t> bytes;
      double best_ms = 1e300;
    };
    std::vector<Run> runs;
    for (KvDtype dtype : {KvDtype::kF32, KvDtype::kBf16, KvDtype::kFp8}) {
      // Every layer its own cache, as in a model: a step streams all of them from memory.
      const size_t layer_bytes =
          static_cast<size_t>(blocks) * block * entry * kv_dtype_bytes(dtype);
      runs.push_back({dtype, std::vector<uint8_t>(layer_bytes * o.layers)});
      write_kv({runs.back().bytes.data(), blocks, block, entry, dtype}, fill, values.data(), entry,
               0, entry);
      for (int32_t l = 1; l < o.layers; ++l)
        std::copy_n(runs.back().bytes.data(), layer_bytes,
                    runs.back().bytes.data() + l * layer_bytes);
    }
    for (int32_t r = 0; r <= o.reps; ++r) {  // repetition 0 warms up
      for (Run& run : runs) {
        const size_t layer_bytes = run.bytes.size() / o.layers;
        const auto t0 = std::chrono::steady_clock::now();
        for (int32_t l = 0; l < o.layers; ++l) {
          const PagedCache cache{run.bytes.data() + l * layer_bytes, blocks, block, entry,
                                 run.dtype};
          cpu::paged_attention_cpu(shape, step, cache, q.data(), out.data(), pool, o.isa);
        }
        const double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count();
        if (r > 0) run.best_ms = std::min(run.best_ms, ms);
      }
    }
    for (const Run& run : runs) {
      const double mib = static_cast<double>(run.bytes.size()) / (1 << 20);
      std::printf("| %-7s | %5d | %22.1f | %36.3f | %9.2fx | %7.1f |\n",
                  run.dtype == KvDtype::kF32    ? "float32"
                  : run.dtype == KvDtype::kBf16 ? "bf16"
                                                : "fp8",
                  batch, mib, run.best_ms, runs[0].best_ms / run.best_ms,
                  flops / (run.best_ms * 1e6));
    }
  }
  return 0;
}
