// Speculative decoding through the real engine on every fixture model: greedy outputs are
// identical with and without it (n-gram and, on a DeepSeek-V3 fixture given an MTP layer, MTP
// drafting), sampled outputs keep their distribution, the MTP step matches a straightforward
// computation, and rejected drafts leave no KV blocks behind.
#include <gtest/gtest.h>

#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>

#include "engine/engine.h"
#include "engine/run_to_completion.h"
#include "formats/safetensors.h"
#include "kernels/ops.h"
#include "model/arch/moe_router.h"
#include "model/config.h"
#include "support/engine_request.h"
#include "support/reference.h"
#include "support/temp_dir.h"

namespace fathom::engine {
namespace {

using fathom::testing::fixture_dir;
using fathom::testing::Reference;
using fathom::testing::request;
using fathom::testing::TempDir;

// --- A DeepSeek-V3 fixture with one MTP layer of random weights -------------------------------

struct MtpFixture {
  std::string dir;
  std::map<std::string, std::vector<float>> mtp;  // the MTP tensors written, by name
};

// Copies tests/data's deepseek_v3 into `dir` with num_nextn_predict_layers = 1 and a second
// shard holding model.layers.3.*: the decoder-layer tensors shaped as layer 2's, plus enorm,
// hnorm, eh_proj, shared_head.{norm,head} and embed_tokens, all random f32.
MtpFixture make_mtp_fixture(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path src = fixture_dir("deepseek_v3");
  for (const char* f : {"generation_config.json", "tokenizer.json", "tokenizer_config.json"})
    fs::copy_file(src / f, fs::path(dir) / f);
  fs::copy_file(src / "model.safetensors", fs::path(dir) / "model-00001-of-00002.safetensors");
  std::string config = fathom::testing::read_bytes((src / "config.json").string());
  const std::string key = "\"num_nextn_predict_layers\": 0";
  EXPECT_NE(config.find(key), std::string::npos);
  config.replace(config.find(key), key.size(), "\"num_nextn_predict_layers\": 1");
  fathom::testing::write_text((fs::path(dir) / "config.json").string(), config);

  auto base = formats::SafetensorsFile::open((src / "model.safetensors").string());
  EXPECT_TRUE(base.ok());
  MtpFixture out{dir, {}};
  std::mt19937 rng(17);
  std::normal_distribution<float> weight(0.0f, 0.08f);
  std::uniform_real_distribution<float> near_one(0.9f, 1.1f);
  std::vector<formats::OwnedTensor> tensors;
  auto add = [&](const std::string& name, std::vector<int64_t> shape, bool is_norm) {
    int64_t n = 1;
    for (int64_t s : shape) n *= s;
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = is_norm ? near_one(rng) : weight(rng);
    out.mtp[name] = v;
    tensors.push_back(formats::make_f32_tensor(name, std::move(shape), v));
  };
  const std::string from = "model.layers.2.", to = "model.layers.3.";
  for (const formats::TensorView& t : base->tensors()) {
    if (t.name.rfind(from, 0) != 0) continue;
    const bool is_norm = t.shape.size() == 1 && t.name.find("bias") == std::string::npos;
    add(to + t.name.substr(from.size()), t.shape, is_norm);
  }
  add(to + "enorm.weight", {64}, true);
  add(to + "hnorm.weight", {64}, true);
  add(to + "eh_proj.weight", {64, 128}, false);
  add(to + "shared_head.norm.weight", {64}, true);
  add(to + "shared_head.head.weight", {512, 64}, false);
  add(to + "embed_tokens.weight", {512, 64}, false);
  EXPECT_TRUE(formats::write_safetensors(dir + "/model-00002-of-00002.safetensors", tensors).ok());
  return out;
}

// --- Engine helpers ----------------------------------------------------------------------------

std::unique_ptr<Engine> make_engine(const std::string& dir, spec::SpecMethod method,
                                    int32_t num_spec = 3, int64_t budget = 512) {
  static SteadyClock clock;
  model::LoadOptions opts;
  opts.load_mtp = method == spec::SpecMethod::kMtp;
  auto m = model::load_model(dir, opts);
  EXPECT_TRUE(m.ok()) << m.status().to_string();
  EngineConfig cfg;
  cfg.max_num_batched_tokens = budget;
  cfg.spec.method = method;
  cfg.spec.num_speculative_tokens = num_spec;
  cfg.spec.prompt_lookup_min = 1;
  auto e = Engine::create(std::move(*m), cfg, clock);
  EXPECT_TRUE(e.ok()) << e.status().to_string();
  return std::move(*e);
}

// All requests at once (one batch mixing prefills, decodes and drafts); the ids of each.
std::vector<std::vector<int32_t>> run_batch(Engine& e, const std::vector<EngineRequest>& reqs) {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::vector<int32_t>> out(reqs.size());
  size_t done = 0;
  for (size_t i = 0; i < reqs.size(); ++i) {
    const Status s = e.submit(reqs[i], [&, i](RequestUpdate u) {
      std::lock_guard<std::mutex> lock(mu);
      for (const auto& t : u.tokens) out[i].push_back(t.token_id);
      if (u.finish != FinishReason::kNone && ++done == reqs.size()) cv.notify_all();
    });
    EXPECT_TRUE(s.ok()) << s.to_string();
  }
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done == reqs.size(); });
  return out;
}

// Prompts that repeat themselves (so prompt lookup finds matches) and ones that do not.
std::vector<EngineRequest> greedy_requests() {
  Reference ref("deepseek_v3");
  const std::vector<int32_t> p3 = ref.ids("p3.input_ids");
  const std::vector<int32_t> base(p3.begin(), p3.begin() + 24);
  std::vector<int32_t> repeated = base;
  repeated.insert(repeated.end(), base.begin(), base.begin() + 12);
  std::vector<EngineRequest> reqs = {request("a", repeated, 32), request("b", base, 24),
                                     request("c", {base.begin(), base.begin() + 5}, 20)};
  EngineRequest pen = request("d", repeated, 24);  // logits processors applied per position
  pen.params.repetition_penalty = 1.2f;
  pen.params.frequency_penalty = 0.4f;
  pen.params.presence_penalty = 0.3f;
  pen.params.logit_bias = {{base[3], 2.0f}, {base[7], -3.0f}};
  pen.params.top_logprobs = 2;
  reqs.push_back(pen);
  return reqs;
}

void expect_no_blocks_held(Engine& e) {
  const EngineStats s = e.stats();
  EXPECT_EQ(s.num_free_kv_blocks, s.num_kv_blocks);
  EXPECT_EQ(s.kv_cache_usage, 0.0);
}

class SpecGreedyTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SpecGreedyTest, NgramDraftingGivesTheSameTokens) {
  const std::string dir = fixture_dir(GetParam());
  const auto reqs = greedy_requests();
  auto plain = make_engine(dir, spec::SpecMethod::kOff);
  const auto want = run_batch(*plain, reqs);
  for (int32_t k : {1, 4}) {
    auto spec = make_engine(dir, spec::SpecMethod::kNgram, k, /*budget=*/40);
    EXPECT_EQ(run_batch(*spec, reqs), want) << "k = " << k;
    // One at a time too: decode steps of a single sequence.
    for (size_t i = 0; i < reqs.size(); ++i) {
      EngineRequest r = reqs[i];
      r.request_id += "-one-" + std::to_string(k);  // the earlier one may not be forgotten yet
      auto one = run_to_completion(*spec, r);
      ASSERT_TRUE(one.ok()) << one.status().to_string();
      EXPECT_EQ(one->ids, want[i]) << "request " << reqs[i].request_id;
    }
    const EngineStats s = spec->stats();
    EXPECT_GT(s.spec.num_draft_tokens, 0);
    EXPECT_LE(s.spec.num_accepted_tokens, s.spec.num_draft_tokens);
    expect_no_blocks_held(*spec);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SpecGreedyTest,
                         ::testing::Values("qwen2", "qwen2_awq", "qwen2_gptq",
                                           "qwen2_gptq_actorder", "qwen2_int8", "llama",
                                           "llama_awq", "llama_gptq", "deepseek_v2",
                                           "deepseek_v2_grouped", "deepseek_v3",
                                           "deepseek_v3_fp8"));

TEST(SpecEngineTest, StopTokenAndMaxTokensInsideAnAcceptedDraft) {
  // A prompt that is one token repeated: prompt lookup drafts that token, and a model that
  // continues it accepts whole drafts; a stop token or max_tokens ends the output mid-draft.
  const std::string dir = fixture_dir("deepseek_v3");
  const auto reqs = greedy_requests();
  auto plain = make_engine(dir, spec::SpecMethod::kOff);
  const auto want = run_batch(*plain, reqs);
  auto spec = make_engine(dir, spec::SpecMethod::kNgram, 4);
  for (size_t i = 0; i < reqs.size(); ++i) {
    for (size_t cut : {size_t{3}, size_t{6}}) {
      EngineRequest r = reqs[i];
      r.request_id += "-len-" + std::to_string(cut);
      r.params.max_tokens = static_cast<int64_t>(cut);
      auto got = run_to_completion(*spec, r);
      ASSERT_TRUE(got.ok()) << got.status().to_string();
      EXPECT_EQ(got->ids, std::vector<int32_t>(want[i].begin(), want[i].begin() + cut));
      EXPECT_EQ(got->finish, FinishReason::kLength);
      r = reqs[i];
      r.request_id += "-stop-" + std::to_string(cut);
      r.params.stop_token_ids = {want[i][cut]};
      got = run_to_completion(*spec, r);
      ASSERT_TRUE(got.ok()) << got.status().to_string();
      const auto first = std::find(want[i].begin(), want[i].end(), want[i][cut]);
      EXPECT_EQ(got->ids, std::vector<int32_t>(want[i].begin(), first + 1));
      EXPECT_EQ(got->finish, FinishReason::kStop);
    }
  }
  expect_no_blocks_held(*spec);
}

TEST(SpecEngineTest, MtpDraftingGivesTheSameTokensAndFreesEverything) {
  TempDir tmp;
  const MtpFixture fx = make_mtp_fixture(tmp.path());
  const auto reqs = greedy_requests();
  auto plain = make_engine(fx.dir, spec::SpecMethod::kOff);
  const auto want = run_batch(*plain, reqs);
  // The same as the fixture without the MTP layer: the layer changes nothing but drafts.
  auto original = make_engine(fixture_dir("deepseek_v3"), spec::SpecMethod::kOff);
  EXPECT_EQ(run_batch(*original, reqs), want);
  for (int32_t k : {1, 3}) {
    auto spec = make_engine(fx.dir, spec::SpecMethod::kMtp, k, /*budget=*/40);
    EXPECT_EQ(run_batch(*spec, reqs), want) << "k = " << k;
    for (size_t i = 0; i < reqs.size(); ++i) {
      EngineRequest r = reqs[i];
      r.request_id += "-one-" + std::to_string(k);
      auto one = run_to_completion(*spec, r);
      ASSERT_TRUE(one.ok()) << one.status().to_string();
      EXPECT_EQ(one->ids, want[i]);
    }
    const EngineStats s = spec->stats();
    EXPECT_GT(s.spec.num_draft_tokens, 0);
    EXPECT_GT(s.spec.num_drafts, 0);
    expect_no_blocks_held(*spec);
  }
}

TEST(SpecEngineTest, MtpNeedsAnMtpLayer) {
  model::LoadOptions opts;
  opts.load_mtp = true;
  auto m = model::load_model(fixture_dir("deepseek_v3"), opts);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("num_nextn_predict_layers"), std::string::npos);
  auto dense = model::load_model(fixture_dir("qwen2"));
  ASSERT_TRUE(dense.ok());
  SteadyClock clock;
  EngineConfig cfg;
  cfg.spec.method = spec::SpecMethod::kMtp;
  auto e = Engine::create(std::move(*dense), cfg, clock);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("multi-token-prediction"), std::string::npos);
}

// --- One MTP step against a plain computation ---------------------------------------------------

std::vector<float> rms_norm(const std::vector<float>& x, const std::vector<float>& w) {
  double ss = 0.0;
  for (float v : x) ss += static_cast<double>(v) * v;
  const double scale = 1.0 / std::sqrt(ss / static_cast<double>(x.size()) + 1e-6);
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = static_cast<float>(x[i] * scale * w[i]);
  return y;
}

// y = W x for W [rows, x.size()] row-major, rows [row0, row0 + rows).
std::vector<float> matvec(const std::vector<float>& w, const std::vector<float>& x, size_t row0 = 0,
                          size_t rows = 0) {
  const size_t in = x.size();
  if (rows == 0) rows = w.size() / in;
  std::vector<float> y(rows);
  for (size_t r = 0; r < rows; ++r) {
    double acc = 0.0;
    for (size_t i = 0; i < in; ++i) acc += static_cast<double>(w[(row0 + r) * in + i]) * x[i];
    y[r] = static_cast<float>(acc);
  }
  return y;
}

std::vector<float> swiglu(const std::map<std::string, std::vector<float>>& t, const std::string& p,
                          const std::vector<float>& x) {
  std::vector<float> g = matvec(t.at(p + "gate_proj.weight"), x);
  const std::vector<float> u = matvec(t.at(p + "up_proj.weight"), x);
  for (size_t i = 0; i < g.size(); ++i) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
  return matvec(t.at(p + "down_proj.weight"), g);
}

TEST(SpecEngineTest, OneMtpStepMatchesAPlainComputation) {
  TempDir tmp;
  const MtpFixture fx = make_mtp_fixture(tmp.path());
  model::LoadOptions opts;
  opts.load_mtp = true;
  opts.reference_kernels = true;
  auto loaded = model::load_model(fx.dir, opts);
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  model::Model& m = **loaded;
  const model::ModelConfig& c = m.config();
  ASSERT_TRUE(m.has_mtp());

  // One token at position 0: attention over itself alone returns its own value, so the block
  // is o_proj(W_uv latent) + MoE without any cache arithmetic.
  const int32_t next_token = 77;
  std::mt19937 rng(5);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> h(64);
  for (float& v : h) v = dist(rng);
  model::ForwardBatch b;
  b.token_ids = {next_token};
  b.positions = {0};
  b.seq_idx = {0};
  b.block_tables = {{0}};
  b.output_rows = {0};
  auto cache = runtime::KvStorage::allocate(m.mtp_kv_layout(), 1, 16);
  ASSERT_TRUE(cache.ok());
  std::vector<float> logits, hidden_out;
  ASSERT_TRUE(m.mtp_forward(b, h, *cache, logits, hidden_out).ok());

  const auto& t = fx.mtp;
  const std::string p = "model.layers.3.";
  const std::vector<float>& emb = t.at(p + "embed_tokens.weight");
  const std::vector<float> e =
      rms_norm({emb.begin() + next_token * 64, emb.begin() + next_token * 64 + 64},
               t.at(p + "enorm.weight"));
  std::vector<float> cat = e;
  const std::vector<float> hn = rms_norm(h, t.at(p + "hnorm.weight"));
  cat.insert(cat.end(), hn.begin(), hn.end());  // [enorm(emb(t)); hnorm(h)]
  std::vector<float> x = matvec(t.at(p + "eh_proj.weight"), cat);

  const std::vector<float> a = rms_norm(x, t.at(p + "input_layernorm.weight"));
  const std::vector<float> kv_a = matvec(t.at(p + "self_attn.kv_a_proj_with_mqa.weight"), a);
  const std::vector<float> latent = rms_norm({kv_a.begin(), kv_a.begin() + c.mla.kv_lora_rank},
                                             t.at(p + "self_attn.kv_a_layernorm.weight"));
  std::vector<float> v;  // [heads, v_head_dim]
  const int64_t per_head = c.mla.qk_nope_head_dim + c.mla.v_head_dim;
  for (int64_t head = 0; head < c.num_heads; ++head) {
    const auto vh = matvec(t.at(p + "self_attn.kv_b_proj.weight"), latent,
                           static_cast<size_t>(head * per_head + c.mla.qk_nope_head_dim),
                           static_cast<size_t>(c.mla.v_head_dim));
    v.insert(v.end(), vh.begin(), vh.end());
  }
  const std::vector<float> o = matvec(t.at(p + "self_attn.o_proj.weight"), v);
  for (size_t i = 0; i < x.size(); ++i) x[i] += o[i];

  const std::vector<float> f = rms_norm(x, t.at(p + "post_attention_layernorm.weight"));
  const std::vector<float> router = matvec(t.at(p + "mlp.gate.weight"), f);
  const model::RoutingResult r =
      model::route_tokens(c.moe, router.data(), 1, t.at(p + "mlp.gate.e_score_correction_bias"));
  std::vector<float> ffn = swiglu(t, p + "mlp.shared_experts.", f);
  for (size_t k = 0; k < r.expert_idx.size(); ++k) {
    const auto y = swiglu(t, p + "mlp.experts." + std::to_string(r.expert_idx[k]) + ".", f);
    for (size_t i = 0; i < ffn.size(); ++i) ffn[i] += r.weight[k] * y[i];
  }
  for (size_t i = 0; i < x.size(); ++i) x[i] += ffn[i];
  const std::vector<float> want =
      matvec(t.at(p + "shared_head.head.weight"), rms_norm(x, t.at(p + "shared_head.norm.weight")));

  ASSERT_EQ(logits.size(), want.size());
  ASSERT_EQ(hidden_out.size(), x.size());
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(hidden_out[i], x[i], 1e-3) << "hidden " << i;
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(logits[i], want[i], 1e-3) << "logit " << i;
}

// --- Sampling keeps its distribution ------------------------------------------------------------

// Counts of the (2nd, 3rd) generated tokens over `n` seeded requests: the first positions
// speculation decides.
std::map<std::pair<int32_t, int32_t>, int> second_and_third(Engine& e,
                                                            const std::vector<int32_t>& prompt,
                                                            int n) {
  std::vector<EngineRequest> reqs;
  for (int i = 0; i < n; ++i) {
    EngineRequest r = request("s" + std::to_string(i), prompt, 4);
    r.params.sampling = {.temperature = 0.5f, .top_k = 3, .seed = static_cast<uint64_t>(i) + 1};
    reqs.push_back(std::move(r));
  }
  std::map<std::pair<int32_t, int32_t>, int> counts;
  for (size_t i = 0; i < reqs.size(); i += 64) {
    const std::vector<EngineRequest> chunk(
        reqs.begin() + static_cast<std::ptrdiff_t>(i),
        reqs.begin() + static_cast<std::ptrdiff_t>(std::min(i + 64, reqs.size())));
    for (const auto& ids : run_batch(e, chunk)) ++counts[{ids[1], ids[2]}];
  }
  return counts;
}

// Two-sample chi-square over the cells, pooling cells with a small expected count.
double chi_square(const std::map<std::pair<int32_t, int32_t>, int>& a,
                  const std::map<std::pair<int32_t, int32_t>, int>& b, int* dof) {
  std::map<std::pair<int32_t, int32_t>, std::pair<double, double>> cells;
  for (const auto& [k, v] : a) cells[k].first += v;
  for (const auto& [k, v] : b) cells[k].second += v;
  double na = 0, nb = 0;
  for (const auto& [k, v] : cells) na += v.first, nb += v.second;
  std::vector<std::pair<double, double>> pooled;
  std::pair<double, double> rest{0, 0};
  for (const auto& [k, v] : cells) {
    if ((v.first + v.second) < 20) {
      rest.first += v.first, rest.second += v.second;
    } else {
      pooled.push_back(v);
    }
  }
  if (rest.first + rest.second > 0) pooled.push_back(rest);
  double chi = 0.0;
  for (const auto& [x, y] : pooled) {
    const double total = x + y;
    const double ea = total * na / (na + nb), eb = total * nb / (na + nb);
    chi += (x - ea) * (x - ea) / ea + (y - eb) * (y - eb) / eb;
  }
  *dof = static_cast<int>(pooled.size()) - 1;
  return chi;
}

TEST(SpecEngineTest, SampledTokensKeepTheirDistribution) {
  const std::string dir = fixture_dir("qwen2");
  // A prompt extended by its greedy continuation until that falls into repeating itself (as
  // tiny random models do): prompt lookup then drafts the repetition, which a low temperature
  // often accepts and sometimes rejects, at the second and third tokens.
  std::vector<int32_t> prompt = greedy_requests()[0].prompt_ids;
  auto plain = make_engine(dir, spec::SpecMethod::kOff);
  for (int round = 0; round < 3; ++round) {
    auto greedy = run_to_completion(*plain, request("g" + std::to_string(round), prompt, 24));
    ASSERT_TRUE(greedy.ok());
    prompt.insert(prompt.end(), greedy->ids.begin(), greedy->ids.end());
  }

  constexpr int kSamples = 3000;
  const auto without = second_and_third(*plain, prompt, kSamples);
  auto spec = make_engine(dir, spec::SpecMethod::kNgram, 3);
  const auto with = second_and_third(*spec, prompt, kSamples);
  const EngineStats s = spec->stats();
  EXPECT_GT(s.spec.num_accepted_tokens, kSamples / 4)
      << "drafts must matter for this test: " << s.spec.num_draft_tokens << " drafted";
  EXPECT_LT(s.spec.num_accepted_tokens, s.spec.num_draft_tokens) << "and be rejected too";
  int dof = 0;
  const double chi = chi_square(without, with, &dof);
  // The chi-square quantile at p = 0.001 (Wilson-Hilferty; z = 3.09).
  ASSERT_GE(dof, 2);
  const double k = dof, w = 2.0 / (9.0 * k);
  const double critical = k * std::pow(1.0 - w + 3.09 * std::sqrt(w), 3.0);
  EXPECT_LT(chi, critical) << "dof " << dof;
  expect_no_blocks_held(*spec);
}

}  // namespace
}  // namespace fathom::engine
