// The engine end to end on a fixture model: continuous batching gives the same tokens as one
// request at a time, preemption and prefix caching keep outputs identical, cancellation and
// draining free everything, and bad requests are refused with clear errors.
#include "engine/engine.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "engine/run_to_completion.h"
#include "grammar/json_schema.h"
#include "grammar/regex.h"
#include "grammar/tokenizer_vocab.h"
#include "support/engine_request.h"
#include "support/reference.h"

namespace fathom::engine {
namespace {

using fathom::testing::fixture_dir;
using fathom::testing::Reference;
using fathom::testing::request;

std::unique_ptr<Engine> make_engine(const std::string& model, EngineConfig cfg = {}) {
  static SteadyClock clock;
  auto m = model::load_model(fixture_dir(model));
  EXPECT_TRUE(m.ok()) << m.status().to_string();
  auto e = Engine::create(std::move(*m), cfg, clock);
  EXPECT_TRUE(e.ok()) << e.status().to_string();
  return std::move(*e);
}

// Prompts of many lengths made from the reference prompts.
std::vector<std::vector<int32_t>> prompts(int n) {
  Reference ref("deepseek_v3");
  const auto long_prompt = ref.ids("p3.input_ids");
  std::vector<std::vector<int32_t>> out;
  for (int i = 0; i < n; ++i) {
    const size_t len = 1 + (static_cast<size_t>(i) * 37) % 120;
    std::vector<int32_t> p(long_prompt.begin() + (i % 20), long_prompt.begin() + (i % 20) + len);
    out.push_back(p);
  }
  return out;
}

// Submits every request at once and waits for all of them.
std::vector<Completion> run_concurrently(Engine& e, const std::vector<EngineRequest>& reqs) {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Completion> out(reqs.size());
  size_t done = 0;
  for (size_t i = 0; i < reqs.size(); ++i) {
    Status s = e.submit(reqs[i], [&, i](RequestUpdate u) {
      std::lock_guard<std::mutex> lock(mu);
      for (const auto& t : u.tokens) out[i].ids.push_back(t.token_id);
      if (u.finish == FinishReason::kNone) return;
      out[i].finish = u.finish;
      out[i].cached_prompt_tokens = u.cached_prompt_tokens;
      ++done;
      cv.notify_all();
    });
    EXPECT_TRUE(s.ok()) << s.to_string();
  }
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done == reqs.size(); });
  return out;
}

TEST(EngineTest, ThirtyTwoConcurrentRequestsMatchOneAtATime) {
  EngineConfig cfg;
  cfg.max_num_batched_tokens = 64;  // forces chunked prefill mixed with decodes
  auto e = make_engine("deepseek_v3", cfg);
  std::vector<EngineRequest> reqs;
  const auto ps = prompts(32);
  for (int i = 0; i < 32; ++i) reqs.push_back(request("r" + std::to_string(i), ps[i], 8 + i % 5));
  std::vector<Completion> sequential;
  for (const auto& r : reqs) {
    auto c = run_to_completion(*e, r);
    ASSERT_TRUE(c.ok());
    sequential.push_back(*c);
  }
  auto e2 = make_engine("deepseek_v3", cfg);  // fresh engine: no prefix cache from above
  const auto concurrent = run_concurrently(*e2, reqs);
  for (int i = 0; i < 32; ++i) {
    EXPECT_EQ(concurrent[i].ids, sequential[i].ids) << "request " << i;
    EXPECT_EQ(concurrent[i].finish, FinishReason::kLength);
  }
  const EngineStats st = e2->stats();
  EXPECT_EQ(st.requests_finished.at("length"), 32);
  EXPECT_EQ(st.num_free_kv_blocks, st.num_kv_blocks);
}

TEST(EngineTest, PreemptionUnderKvPressureKeepsOutputsIdentical) {
  EngineConfig small;
  small.block_size = 4;
  small.num_kv_blocks = 40;  // 160 token slots for 6 requests of ~60-130 tokens each
  auto e = make_engine("llama", small);
  auto ref_engine = make_engine("llama");
  std::vector<EngineRequest> reqs;
  const auto ps = prompts(8);
  for (int i = 0; i < 6; ++i) reqs.push_back(request("p" + std::to_string(i), ps[i + 2], 20));
  const auto got = run_concurrently(*e, reqs);
  for (size_t i = 0; i < reqs.size(); ++i) {
    auto want = run_to_completion(*ref_engine, reqs[i]);
    ASSERT_TRUE(want.ok());
    EXPECT_EQ(got[i].ids, want->ids) << i;
  }
  EXPECT_GT(e->stats().num_preemptions, 0);
  EXPECT_EQ(e->stats().num_free_kv_blocks, 40);
}

TEST(EngineTest, RepeatedPrefixIsServedFromThePrefixCache) {
  auto e = make_engine("deepseek_v2");
  Reference ref("deepseek_v2");
  const auto prompt = ref.ids("p3.input_ids");  // 150 tokens
  auto first = run_to_completion(*e, request("a", prompt, 6));
  auto second = run_to_completion(*e, request("b", prompt, 6));
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->cached_prompt_tokens, 0);
  EXPECT_EQ(second->cached_prompt_tokens, 144);  // 9 full blocks of 16
  EXPECT_EQ(first->ids, second->ids);
  const EngineStats st = e->stats();
  EXPECT_EQ(st.prefix_cache_hits, 144);
  EXPECT_EQ(st.prefix_cache_queries, 300);
}

TEST(EngineTest, CancelledRequestFreesItsBlocks) {
  auto e = make_engine("qwen2");
  std::mutex mu;
  std::condition_variable cv;
  FinishReason finish = FinishReason::kNone;
  int tokens = 0;
  ASSERT_TRUE(e->submit(request("long", prompts(3)[2], 150), [&](RequestUpdate u) {
    std::lock_guard<std::mutex> lock(mu);
    tokens += static_cast<int>(u.tokens.size());
    if (tokens == 1) e->cancel("long");  // cancel from inside the callback is allowed
    if (u.finish != FinishReason::kNone) finish = u.finish;
    cv.notify_all();
  }).ok());
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return finish != FinishReason::kNone; });
  EXPECT_EQ(finish, FinishReason::kAbort);
  EXPECT_LT(tokens, 150);
  lock.unlock();
  e->drain();
  const EngineStats st = e->stats();
  EXPECT_EQ(st.num_free_kv_blocks, st.num_kv_blocks);
  EXPECT_EQ(st.requests_finished.at("abort"), 1);
}

TEST(EngineTest, RefusesWhatItCannotServe) {
  EngineConfig cfg;
  cfg.max_waiting = 0;
  auto busy = make_engine("llama", cfg);
  EXPECT_EQ(busy->submit(request("x", {1, 2}, 4), {}).code(), Code::kResourceExhausted);

  auto e = make_engine("llama");
  Status too_long = e->submit(request("y", std::vector<int32_t>(250, 3), 10), {});
  EXPECT_EQ(too_long.code(), Code::kInvalidArgument);
  EXPECT_NE(too_long.message().find("maximum context length is 256 tokens"), std::string::npos)
      << too_long.message();
  EXPECT_EQ(e->submit(request("z", {}, 4), {}).code(), Code::kInvalidArgument);
  EXPECT_EQ(e->submit(request("v", {100000}, 4), {}).code(), Code::kInvalidArgument);
  auto bad = request("t", {1}, 4);
  bad.params.sampling.temperature = -1;
  EXPECT_NE(e->submit(bad, {}).message().find("temperature"), std::string::npos);
  e->drain();
  EXPECT_EQ(e->submit(request("late", {1}, 1), {}).code(), Code::kUnavailable);
}

TEST(EngineTest, LogitBiasAndLogprobs) {
  auto e = make_engine("qwen2");
  auto r = request("bias", {0, 5, 9}, 5);
  r.params.logit_bias = {{42, 100.0f}};
  r.params.top_logprobs = 3;
  std::vector<GeneratedToken> seen;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  ASSERT_TRUE(e->submit(r, [&](RequestUpdate u) {
    std::lock_guard<std::mutex> lock(mu);
    for (auto& t : u.tokens) seen.push_back(t);
    done = u.finish != FinishReason::kNone;
    cv.notify_all();
  }).ok());
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });
  ASSERT_EQ(seen.size(), 5u);
  for (const auto& t : seen) {
    EXPECT_EQ(t.token_id, 42);
    ASSERT_EQ(t.top_logprobs.size(), 3u);
    EXPECT_EQ(t.top_logprobs[0].token_id, 42);
    EXPECT_FLOAT_EQ(t.top_logprobs[0].logprob, t.logprob);
    EXPECT_LE(t.logprob, 0.0f);
    EXPECT_GE(t.top_logprobs[0].logprob, t.top_logprobs[1].logprob);
  }
}

// Structured output on a random model: at temperature 1 the grammar alone keeps every sample
// valid, and the output stops (finish stop) once the grammar is complete.
TEST(EngineTest, ConstrainedDecodingAlwaysMatchesTheGrammar) {
  auto e = make_engine("qwen2");
  auto tok = tokenizer::Tokenizer::load(fixture_dir("qwen2"));
  ASSERT_TRUE(tok.ok()) << tok.status().to_string();
  auto vocab = grammar::vocab_from_tokenizer(*tok, e->model_config().vocab_size,
                                             e->model_config().eos_token_ids);
  ASSERT_TRUE(vocab.ok()) << vocab.status().to_string();
  const auto schema = nlohmann::ordered_json::parse(
      R"({"type": "object", "properties": {"id": {"type": "integer", "minimum": 0, "maximum": 99},
          "tag": {"enum": ["alpha", "beta"]}, "note": {"type": "string", "maxLength": 4}}, "required": ["id", "tag"]})");
  int round = 0;
  for (const auto& compiled :
       {grammar::regex_grammar("[a-c]{2,5}( [0-9]+)?"), grammar::json_schema_grammar(schema)}) {
    ++round;
    ASSERT_TRUE(compiled.ok()) << compiled.status().to_string();
    auto g = std::make_shared<const grammar::Grammar>(*compiled);
    auto constraint =
        std::make_shared<const grammar::TokenConstraint>(grammar::TokenConstraint{g, *vocab});
    std::vector<EngineRequest> reqs;
    for (int i = 0; i < 16; ++i) {
      EngineRequest r = request("c" + std::to_string(round) + "-" + std::to_string(i),
                                {3, 4, 5, static_cast<int32_t>(10 + i)}, 200);
      r.params.ignore_eos = false;
      r.params.sampling.temperature = 1.0f;
      r.params.sampling.seed = static_cast<uint64_t>(i);
      r.params.constraint = constraint;
      reqs.push_back(std::move(r));
    }
    for (const Completion& c : run_concurrently(*e, reqs)) {
      EXPECT_EQ(c.finish, FinishReason::kStop);
      grammar::Matcher m(g);
      std::string text;
      for (int32_t id : c.ids)
        if (const std::string* b = (*vocab)->bytes(id)) text += *b;
      EXPECT_TRUE(m.accept(text) && m.can_end()) << text;
    }
  }
}

}  // namespace
}  // namespace fathom::engine
