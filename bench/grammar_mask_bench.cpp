// Cost of structured output per decode step on a real vocabulary: the token mask (a walk of
// the vocab trie under the grammar), with and without the per-state cache, plus applying it
// to the logits and advancing by the token, along a real generation (the example answer's
// tokens). Printed next to the time a decode step of a 1.5B / 7B bf16 model needs at this
// machine's measured memory bandwidth (weights read once per step), as a percentage.
//
//   build/dev/bin/grammar_mask_bench [TOKENIZER_DIR]   (default build/npm-tokenizers/qwen3,
//                                                     from scripts/fetch_tokenizers.sh)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "grammar/json_schema.h"
#include "grammar/token_matcher.h"
#include "grammar/tokenizer_vocab.h"
#include "tokenizer/tokenizer.h"

namespace {

using namespace fathom;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

double copy_bandwidth_gbs() {
  const size_t n = size_t{1} << 28;  // 256 MiB each way
  std::vector<char> a(n, 1), b(n, 0);
  double best = 1e9;
  for (int i = 0; i < 3; ++i) {
    const auto t = Clock::now();
    std::memcpy(b.data(), a.data(), n);
    best = std::min(best, ms_since(t));
  }
  return 2.0 * static_cast<double>(n) / (best * 1e6);  // read + write
}

struct Stats {
  double mean = 0, p50 = 0, p99 = 0, max = 0;
};
Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  Stats s;
  for (double x : v) s.mean += x / static_cast<double>(v.size());
  s.p50 = v[v.size() / 2];
  s.p99 = v[std::min(v.size() - 1, v.size() * 99 / 100)];
  s.max = v.back();
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "build/npm-tokenizers/qwen3";
  auto tok = tokenizer::Tokenizer::load(dir);
  if (!tok.ok()) {
    std::fprintf(stderr, "grammar_mask_bench: %s (run scripts/fetch_tokenizers.sh)\n",
                 tok.status().to_string().c_str());
    return 1;
  }
  auto t0 = Clock::now();
  auto vocab = grammar::vocab_from_tokenizer(*tok, tok->vocab_size(), {});
  if (!vocab.ok()) return 1;
  const double vocab_ms = ms_since(t0);

  const auto schema = nlohmann::ordered_json::parse(R"({
    "type": "object",
    "properties": {
      "name": {"type": "string", "maxLength": 40},
      "age": {"type": "integer", "minimum": 0, "maximum": 150},
      "email": {"type": "string", "format": "email"},
      "roles": {"type": "array", "items": {"enum": ["admin", "editor", "viewer"]}, "maxItems": 3},
      "address": {"type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": "string", "pattern": "^[0-9]{5}$"}},
                  "required": ["city", "zip"]},
      "bio": {"type": "string"}
    },
    "required": ["name", "age", "email", "roles", "address", "bio"]})");
  const std::string answer =
      R"({"name": "Ada Lovelace", "age": 36, "email": "ada@analytical.engine.org", "roles": ["admin", "viewer"], )"
      R"("address": {"city": "London", "zip": "12345"}, "bio": "Mathematician and writer, chiefly known for her )"
      R"(work on Charles Babbage's proposed mechanical general-purpose computer, the Analytical Engine."})";
  t0 = Clock::now();
  auto g = grammar::json_schema_grammar(schema);
  if (!g.ok()) return 1;
  const double compile_ms = ms_since(t0);
  auto grammar_ptr = std::make_shared<const grammar::Grammar>(*g);
  const grammar::TokenConstraint c{grammar_ptr, *vocab};
  auto ids = tok->encode(answer, false);
  if (!ids.ok()) return 1;

  std::vector<double> cold, cached, apply, advance;
  std::vector<float> logits(static_cast<size_t>((*vocab)->size()), 0.5f);
  for (int rep = 0; rep < 3; ++rep) {
    grammar::TokenMatcher fresh(c), warm(c);
    std::vector<uint64_t> mask;
    for (int32_t id : *ids) {
      auto t = Clock::now();
      fresh.compute(mask);
      cold.push_back(ms_since(t));
      if (!((mask[static_cast<size_t>(id) >> 6] >> (id & 63)) & 1)) {
        std::fprintf(stderr, "grammar_mask_bench: the grammar rejects token %d of the answer\n",
                     id);
        return 1;
      }
      t = Clock::now();
      const auto& m = warm.allowed();
      cached.push_back(ms_since(t));
      t = Clock::now();
      grammar::apply_token_mask(m, logits.data(), static_cast<int64_t>(logits.size()));
      apply.push_back(ms_since(t));
      t = Clock::now();
      fresh.accept_token(id);
      warm.accept_token(id);
      advance.push_back(ms_since(t) / 2);
    }
  }
  const double gbs = copy_bandwidth_gbs();
  const double step_1_5b = 3.1e9 / (gbs * 1e6),
               step_7b = 15.2e9 / (gbs * 1e6);  // bf16 weight bytes / bandwidth
  const Stats sc = stats(cold), sw = stats(cached), sa = stats(apply), sv = stats(advance);
  std::printf(
      "vocab %d tokens (%zu trie nodes) built in %.1f ms; schema compiled in %.2f ms (%zu rules)\n",
      (*vocab)->size(), (*vocab)->trie().size(), vocab_ms, compile_ms, grammar_ptr->starts.size());
  std::printf("answer: %zu tokens, %zu bytes\n", ids->size(), answer.size());
  std::printf("per step (ms)            mean     p50     p99     max\n");
  std::printf("  mask, uncached       %7.3f %7.3f %7.3f %7.3f\n", sc.mean, sc.p50, sc.p99, sc.max);
  std::printf("  mask, as served      %7.3f %7.3f %7.3f %7.3f\n", sw.mean, sw.p50, sw.p99, sw.max);
  std::printf("  apply to logits      %7.3f %7.3f %7.3f %7.3f\n", sa.mean, sa.p50, sa.p99, sa.max);
  std::printf("  advance by token     %7.4f %7.4f %7.4f %7.4f\n", sv.mean, sv.p50, sv.p99, sv.max);
  const double served = sw.mean + sa.mean + sv.mean, worst = sc.mean + sa.mean + sv.mean;
  std::printf(
      "memory bandwidth %.1f GB/s: a bf16 decode step needs >= %.1f ms (1.5B) / %.1f ms (7B)\n",
      gbs, step_1_5b, step_7b);
  std::printf(
      "structured-output overhead: %.2f%% (1.5B) / %.2f%% (7B) as served; uncached %.2f%% / "
      "%.2f%%\n",
      100 * served / step_1_5b, 100 * served / step_7b, 100 * worst / step_1_5b,
      100 * worst / step_7b);
  return 0;
}
