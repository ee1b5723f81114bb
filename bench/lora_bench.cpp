// The cost of serving LoRA adapters unmerged: decode steps of a batch where every sequence runs
// the base model, against the same batch where the sequences are spread round-robin over the
// base model and N adapters (rank r on every q/k/v/o/gate/up/down projection). Both batches are
// timed in one run, alternating, because memory bandwidth on shared machines drifts.
//
//   build/dev/bench/lora_bench --model DIR [--adapters 3] [--rank 16] [--batch 16] [--steps 20]
//                              [--prompt 32]
// DIR: any model folder fathom loads (e.g. one made by bench/random_model).
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "model/model.h"
#include "support/lora_fixture.h"

namespace {

using namespace fathom;
using Clock = std::chrono::steady_clock;

const char* flag_text(int argc, char** argv, const char* name, const char* fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  return fallback;
}
int64_t flag(int argc, char** argv, const char* name, int64_t fallback) {
  const char* v = flag_text(argc, argv, name, nullptr);
  return v ? std::atoll(v) : fallback;
}

/// Milliseconds per decode step of `batch` sequences after a `prompt`-token prefill each.
double decode_ms(model::Model& m, int64_t batch, int64_t prompt, int64_t steps,
                 const std::vector<const model::lora::LoraAdapter*>& seq_lora) {
  constexpr int32_t kBlock = 16;
  const int64_t blocks_per_seq = (prompt + steps + kBlock) / kBlock;
  auto kv = runtime::KvStorage::allocate(m.kv_layout(),
                                         static_cast<int32_t>(batch * blocks_per_seq), kBlock);
  if (!kv.ok()) return -1;
  model::ForwardBatch b;
  b.seq_lora = seq_lora;
  for (int64_t s = 0; s < batch; ++s) {
    b.block_tables.emplace_back();
    for (int64_t k = 0; k < blocks_per_seq; ++k)
      b.block_tables.back().push_back(static_cast<int32_t>(s * blocks_per_seq + k));
    for (int64_t p = 0; p < prompt; ++p) {
      b.token_ids.push_back(static_cast<int32_t>((s * 31 + p * 7) % m.config().vocab_size));
      b.positions.push_back(static_cast<int32_t>(p));
      b.seq_idx.push_back(static_cast<int32_t>(s));
    }
    b.output_rows.push_back(static_cast<int32_t>(b.token_ids.size() - 1));
  }
  std::vector<float> logits;
  if (!m.forward(b, *kv, logits).ok()) return -1;
  const auto start = Clock::now();
  for (int64_t step = 0; step < steps; ++step) {
    b.token_ids.assign(static_cast<size_t>(batch), 5);
    b.positions.assign(static_cast<size_t>(batch), static_cast<int32_t>(prompt + step));
    b.seq_idx.clear();
    b.output_rows.clear();
    for (int64_t s = 0; s < batch; ++s) {
      b.seq_idx.push_back(static_cast<int32_t>(s));
      b.output_rows.push_back(static_cast<int32_t>(s));
    }
    if (!m.forward(b, *kv, logits).ok()) return -1;
  }
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count() /
         static_cast<double>(steps);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = flag_text(argc, argv, "--model", "");
  const int64_t num_adapters = flag(argc, argv, "--adapters", 3),
                rank = flag(argc, argv, "--rank", 16);
  const int64_t batch = flag(argc, argv, "--batch", 16), steps = flag(argc, argv, "--steps", 20);
  const int64_t prompt = flag(argc, argv, "--prompt", 32);
  if (dir.empty() || num_adapters < 1 || rank < 1 || batch < 1 || steps < 1 || prompt < 1) {
    std::fprintf(stderr,
                 "usage: lora_bench --model DIR [--adapters N] [--rank R] [--batch B] [--steps S] "
                 "[--prompt P]\n");
    return 2;
  }
  auto m = model::load_model(dir);
  if (!m.ok()) {
    std::fprintf(stderr, "%s\n", m.status().to_string().c_str());
    return 1;
  }
  const std::string tmp = (std::filesystem::temp_directory_path() / "fathom_lora_bench").string();
  std::vector<std::shared_ptr<const model::lora::LoraAdapter>> adapters;
  int64_t adapter_bytes = 0;
  for (int64_t i = 0; i < num_adapters; ++i) {
    testing::RandomAdapterSpec spec;
    spec.target_modules = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                           "gate_proj", "up_proj", "down_proj"};
    spec.rank = rank;
    spec.seed = static_cast<uint64_t>(i + 1);
    spec.magnitude = 0.01f;
    const std::string adir = tmp + "/a" + std::to_string(i);
    Status s = testing::write_random_adapter(dir, adir, spec);
    auto a =
        s.ok() ? model::lora::load_lora_adapter("a" + std::to_string(i), adir, (*m)->lora_targets())
               : Result<std::shared_ptr<const model::lora::LoraAdapter>>(s);
    if (!a.ok()) {
      std::fprintf(stderr, "%s\n", a.status().to_string().c_str());
      return 1;
    }
    adapter_bytes += (*a)->size_bytes;
    adapters.push_back(*a);
  }
  std::filesystem::remove_all(tmp);
  std::vector<const model::lora::LoraAdapter*> mixed;
  for (int64_t s = 0; s < batch; ++s)
    mixed.push_back(s % (num_adapters + 1) == 0
                        ? nullptr
                        : adapters[static_cast<size_t>(s % (num_adapters + 1) - 1)].get());

  std::printf(
      "model %s, batch %lld (base + %lld adapters round-robin), rank %lld on q/k/v/o/gate/up/down, "
      "%lld adapter bytes\n",
      dir.c_str(), static_cast<long long>(batch), static_cast<long long>(num_adapters),
      static_cast<long long>(rank), static_cast<long long>(adapter_bytes));
  double base_best = 1e30, mixed_best = 1e30;
  for (int round = 0; round < 3; ++round) {  // alternate; keep the best of each
    base_best = std::min(base_best, decode_ms(**m, batch, prompt, steps, {}));
    mixed_best = std::min(mixed_best, decode_ms(**m, batch, prompt, steps, mixed));
  }
  std::printf("decode step: base only %.2f ms, mixed %.2f ms, overhead %+.1f%%\n", base_best,
              mixed_best, 100.0 * (mixed_best / base_best - 1.0));
  return 0;
}
