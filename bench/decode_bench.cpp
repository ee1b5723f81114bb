// Decode throughput of the whole model on this CPU, next to the memory-bandwidth limit.
// Builds a synthetic bf16 Llama-shaped checkpoint (random weights) in a temp folder, loads it
// through the real loader and times Model::forward for prefill and for decode steps at
// several batch sizes. Decode at batch 1 reads every weight once per token, so
// weight bytes x tokens/s against the measured copy bandwidth is the "speed of light" ratio.
//
//   build/release/bench/decode_bench [--hidden 2048] [--layers 8] [--vocab 32000] [--steps 32]
//   [--prompt 64]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "formats/safetensors.h"
#include "model/model.h"
#include "tensor/dtype.h"

namespace {

using namespace fathom;
using Clock = std::chrono::steady_clock;

int64_t flag(int argc, char** argv, const char* name, int64_t fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return std::atoll(argv[i + 1]);
  return fallback;
}

formats::OwnedTensor random_bf16(const std::string& name, std::vector<int64_t> shape, float scale,
                                 std::mt19937& rng) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  formats::OwnedTensor t{name, DType::kBF16, std::move(shape), std::vector<uint8_t>(static_cast<size_t>(n) * 2)};
  std::normal_distribution<float> dist(0.0f, scale);
  auto* p = reinterpret_cast<uint16_t*>(t.bytes.data());
  for (int64_t i = 0; i < n; ++i) p[i] = f32_to_bf16(dist(rng));
  return t;
}

formats::OwnedTensor ones(const std::string& name, int64_t n) {
  formats::OwnedTensor t{name, DType::kBF16, {n}, std::vector<uint8_t>(static_cast<size_t>(n) * 2)};
  auto* p = reinterpret_cast<uint16_t*>(t.bytes.data());
  for (int64_t i = 0; i < n; ++i) p[i] = f32_to_bf16(1.0f);
  return t;
}

double copy_bandwidth_gbs() {
  const size_t n = 256ull << 20;
  std::vector<char> a(n, 1), b(n, 0);
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = Clock::now();
    std::memcpy(b.data(), a.data(), n);
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::max(best, 2.0 * static_cast<double>(n) / s / 1e9);  // read + write
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t hidden = flag(argc, argv, "--hidden", 2048);
  const int64_t layers = flag(argc, argv, "--layers", 8);
  const int64_t prompt_len = flag(argc, argv, "--prompt", 64);  // tokens per sequence
  const int64_t vocab = flag(argc, argv, "--vocab", 32000);
  const int64_t steps = flag(argc, argv, "--steps", 32);
  const int64_t inter = hidden * 8 / 3 / 64 * 64;
  const int64_t heads = hidden / 128;

  const auto dir = std::filesystem::temp_directory_path() / "fathom_decode_bench";
  std::filesystem::create_directories(dir);
  std::mt19937 rng(1);
  std::vector<formats::OwnedTensor> ts;
  ts.push_back(random_bf16("model.embed_tokens.weight", {vocab, hidden}, 0.02f, rng));
  ts.push_back(random_bf16("lm_head.weight", {vocab, hidden}, 0.02f, rng));
  ts.push_back(ones("model.norm.weight", hidden));
  for (int64_t l = 0; l < layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    ts.push_back(ones(p + "input_layernorm.weight", hidden));
    ts.push_back(ones(p + "post_attention_layernorm.weight", hidden));
    for (const char* w : {"q_proj", "k_proj", "v_proj", "o_proj"})
      ts.push_back(random_bf16(p + "self_attn." + w + ".weight", {hidden, hidden}, 0.02f, rng));
    ts.push_back(random_bf16(p + "mlp.gate_proj.weight", {inter, hidden}, 0.02f, rng));
    ts.push_back(random_bf16(p + "mlp.up_proj.weight", {inter, hidden}, 0.02f, rng));
    ts.push_back(random_bf16(p + "mlp.down_proj.weight", {hidden, inter}, 0.02f, rng));
  }
  int64_t weight_bytes = 0;
  for (const auto& t : ts)
    if (t.name != "model.embed_tokens.weight") weight_bytes += static_cast<int64_t>(t.bytes.size());
  if (!formats::write_safetensors((dir / "model.safetensors").string(), ts).ok()) return 1;
  ts.clear();
  std::ofstream(dir / "config.json")
      << "{\"architectures\":[\"LlamaForCausalLM\"],\"vocab_size\":" << vocab << ",\"hidden_size\":" << hidden
      << ",\"intermediate_size\":" << inter << ",\"num_hidden_layers\":" << layers
      << ",\"num_attention_heads\":" << heads << ",\"num_key_value_heads\":" << heads
      << ",\"max_position_embeddings\":4096,\"rms_norm_eps\":1e-6}";

  auto m = model::load_model(dir.string());
  if (!m.ok()) {
    std::fprintf(stderr, "%s\n", m.status().to_string().c_str());
    return 1;
  }
  const double bw = copy_bandwidth_gbs();
  std::printf("model: hidden %lld, %lld layers, vocab %lld: %.1f MB of bf16 weights read per step\n",
              static_cast<long long>(hidden), static_cast<long long>(layers), static_cast<long long>(vocab),
              weight_bytes / 1e6);
  std::printf("memcpy bandwidth (read+write, best of 5): %.1f GB/s\n", bw);

  for (int32_t batch : {1, 8, 32}) {
    const int32_t prompt = static_cast<int32_t>(prompt_len), block = 16;
    const int32_t per_seq_blocks = (prompt + static_cast<int32_t>(steps) + block) / block;
    auto kv = runtime::KvStorage::allocate((*m)->kv_layout(), per_seq_blocks * batch, block);
    if (!kv.ok()) return 1;
    model::ForwardBatch b;
    for (int32_t s = 0; s < batch; ++s) {
      b.block_tables.emplace_back();
      for (int32_t k = 0; k < per_seq_blocks; ++k) b.block_tables[s].push_back(s * per_seq_blocks + k);
    }
    // Prefill every sequence's prompt in one step.
    for (int32_t s = 0; s < batch; ++s)
      for (int32_t i = 0; i < prompt; ++i) {
        b.token_ids.push_back((s * 131 + i * 7) % static_cast<int32_t>(vocab));
        b.positions.push_back(i);
        b.seq_idx.push_back(s);
        if (i == prompt - 1) b.output_rows.push_back(static_cast<int32_t>(b.token_ids.size() - 1));
      }
    std::vector<float> logits;
    auto t0 = Clock::now();
    if (!(*m)->forward(b, *kv, logits).ok()) return 1;
    const double prefill_s = std::chrono::duration<double>(Clock::now() - t0).count();

    t0 = Clock::now();
    for (int64_t step = 0; step < steps; ++step) {
      b.token_ids.assign(batch, 3);
      b.positions.assign(batch, static_cast<int32_t>(prompt + step));
      b.seq_idx.clear();
      b.output_rows.clear();
      for (int32_t s = 0; s < batch; ++s) {
        b.seq_idx.push_back(s);
        b.output_rows.push_back(s);
      }
      if (!(*m)->forward(b, *kv, logits).ok()) return 1;
    }
    const double decode_s = std::chrono::duration<double>(Clock::now() - t0).count();
    const double steps_per_s = static_cast<double>(steps) / decode_s;
    const double gbs = steps_per_s * static_cast<double>(weight_bytes) / 1e9;
    std::printf("batch %2d: prefill %5.0f tok/s | decode %7.1f tok/s (%5.1f steps/s), weights %5.1f GB/s = %4.0f%% of memcpy\n",
                batch, batch * prompt / prefill_s, steps_per_s * batch, steps_per_s, gbs, 100.0 * gbs / bw);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
