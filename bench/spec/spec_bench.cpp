// Speculative decoding cost and speed-up on one model: the same greedy requests with
// speculation off and with n-gram (or MTP) drafting of k tokens, on a prompt-lookup-friendly
// workload (a text followed by the request to repeat it: the prompt holds the answer).
// Prints tokens/s, tokens per forward pass, acceptance and the speed-up over off.
//
//   spec_bench --model DIR [--method ngram|mtp] [--k 2,4] [--requests 4] [--concurrency 1]
//              [--max-tokens 64] [--text-tokens 192]
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "base/logging.h"
#include "engine/engine.h"

namespace {

using namespace fathom;

struct Options {
  std::string model;
  engine::spec::SpecMethod method = engine::spec::SpecMethod::kNgram;
  std::vector<int32_t> ks = {2, 4};
  int requests = 4, concurrency = 1, max_tokens = 64, text_tokens = 192;
};

struct RunResult {
  double seconds = 0;
  int64_t tokens = 0, forwards = 0;
  engine::spec::SpecStats spec;
  std::vector<std::vector<int32_t>> outputs;
};

// A "document" of text_tokens ids, then itself again up to a third (the model is asked to
// repeat it and has started): the continuation is in the prompt when the model copies.
std::vector<int32_t> make_prompt(int text_tokens, int64_t vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int32_t> text(static_cast<size_t>(text_tokens));
  for (int32_t& t : text) t = static_cast<int32_t>(rng() % static_cast<uint64_t>(vocab - 2)) + 2;
  std::vector<int32_t> prompt = text;
  prompt.insert(prompt.end(), text.begin(), text.begin() + text_tokens / 3);
  return prompt;
}

Result<RunResult> run(const Options& o, engine::spec::SpecMethod method, int32_t k) {
  model::LoadOptions load;
  load.load_mtp = method == engine::spec::SpecMethod::kMtp;
  FATHOM_ASSIGN_OR_RETURN(auto m, model::load_model(o.model, load));
  const int64_t vocab = m->config().vocab_size;
  engine::EngineConfig cfg;
  cfg.max_num_seqs = o.concurrency;
  cfg.max_num_batched_tokens = 2048;
  cfg.spec.method = method;
  cfg.spec.num_speculative_tokens = k;
  static SteadyClock clock;
  FATHOM_ASSIGN_OR_RETURN(auto e, engine::Engine::create(std::move(m), cfg, clock));

  // Warm-up (page in the weights), then the timed requests.
  std::mutex mu;
  std::condition_variable cv;
  RunResult r;
  r.outputs.resize(static_cast<size_t>(o.requests));
  auto submit_all = [&](int n, const std::string& tag) -> Status {
    int done = 0;
    for (int i = 0; i < n; ++i) {
      engine::EngineRequest q;
      q.request_id = tag + std::to_string(i);
      q.prompt_ids = make_prompt(o.text_tokens, vocab, static_cast<uint64_t>(i) + 1);
      q.params.max_tokens = o.max_tokens;
      q.params.ignore_eos = true;
      FATHOM_RETURN_IF_ERROR(e->submit(q, [&, i, tag](engine::RequestUpdate u) {
        std::lock_guard<std::mutex> lock(mu);
        if (tag == "run")
          for (const auto& t : u.tokens) r.outputs[static_cast<size_t>(i)].push_back(t.token_id);
        if (u.finish != engine::FinishReason::kNone && ++done == n) cv.notify_all();
      }));
    }
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done == n; });
    return ok_status();
  };
  FATHOM_RETURN_IF_ERROR(submit_all(1, "warm"));
  const engine::EngineStats before = e->stats();
  const auto start = std::chrono::steady_clock::now();
  FATHOM_RETURN_IF_ERROR(submit_all(o.requests, "run"));
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const engine::EngineStats after = e->stats();
  r.tokens = after.generation_tokens_total - before.generation_tokens_total;
  r.forwards = after.step_profile.forwards - before.step_profile.forwards;
  r.spec = after.spec;
  r.spec.num_drafts -= before.spec.num_drafts;
  r.spec.num_draft_tokens -= before.spec.num_draft_tokens;
  r.spec.num_accepted_tokens -= before.spec.num_accepted_tokens;
  return r;
}

Result<Options> parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], v = argv[i + 1];
    if (flag == "--model") {
      o.model = v;
    } else if (flag == "--method") {
      FATHOM_ASSIGN_OR_RETURN(o.method, engine::spec::parse_spec_method(v));
    } else if (flag == "--k") {
      o.ks.clear();
      std::stringstream ss(v);
      for (std::string part; std::getline(ss, part, ',');) o.ks.push_back(std::atoi(part.c_str()));
    } else if (flag == "--requests") {
      o.requests = std::atoi(v.c_str());
    } else if (flag == "--concurrency") {
      o.concurrency = std::atoi(v.c_str());
    } else if (flag == "--max-tokens") {
      o.max_tokens = std::atoi(v.c_str());
    } else if (flag == "--text-tokens") {
      o.text_tokens = std::atoi(v.c_str());
    } else {
      return invalid_argument("unknown flag " + flag);
    }
  }
  if (o.model.empty()) return invalid_argument("--model DIR is required");
  if (o.requests < 1 || o.concurrency < 1 || o.max_tokens < 1 || o.text_tokens < 3)
    return invalid_argument(
        "--requests, --concurrency, --max-tokens must be >= 1, --text-tokens >= 3");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  fathom::set_log_level(fathom::LogLevel::kWarning);
  auto o = parse(argc, argv);
  if (!o.ok()) {
    std::fprintf(stderr, "spec_bench: %s\n", o.status().message().c_str());
    return 2;
  }
  auto base = run(*o, engine::spec::SpecMethod::kOff, 0);
  if (!base.ok()) {
    std::fprintf(stderr, "spec_bench: %s\n", base.status().message().c_str());
    return 1;
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::printf("%-10s %4s %10s %12s %10s %10s %10s %9s\n", "method", "k", "tokens/s", "tok/forward",
              "drafted", "accepted", "accept%", "speed-up");
  const double base_tps = static_cast<double>(base->tokens) / base->seconds;
  std::printf("%-10s %4s %10.2f %12.2f %10s %10s %10s %9.2f\n", "off", "-", base_tps,
              static_cast<double>(base->tokens) / static_cast<double>(base->forwards), "-", "-",
              "-", 1.0);
  for (int32_t k : o->ks) {
    auto r = run(*o, o->method, k);
    if (!r.ok()) {
      std::fprintf(stderr, "spec_bench: %s\n", r.status().message().c_str());
      return 1;
    }
    if (r->outputs != base->outputs) {
      std::fprintf(stderr, "spec_bench: greedy outputs differ with speculation (k=%d)\n", k);
      return 1;
    }
    const double tps = static_cast<double>(r->tokens) / r->seconds;
    std::printf("%-10s %4d %10.2f %12.2f %10lld %10lld %9.1f%% %9.2f\n",
                engine::spec::spec_method_name(o->method), k, tps,
                static_cast<double>(r->tokens) / static_cast<double>(r->forwards),
                static_cast<long long>(r->spec.num_draft_tokens),
                static_cast<long long>(r->spec.num_accepted_tokens),
                r->spec.num_draft_tokens > 0
                    ? 100.0 * static_cast<double>(r->spec.num_accepted_tokens) /
                          static_cast<double>(r->spec.num_draft_tokens)
                    : 0.0,
                tps / base_tps);
  }
  return 0;
}
