// fathom bench serve --url URL --concurrency N --requests M --prompt-tokens P --max-tokens G [--json]
// Load-tests a running OpenAI-compatible server (fathom serve, vLLM, llama-server) and prints
// TTFT, TPOT, ITL and end-to-end latency percentiles and throughput (src/server/serve_bench.h).
#include <cstdio>
#include <cstdlib>

#include "cli/args.h"
#include "server/serve_bench.h"

namespace fathom::cli {

int run_bench_model(const std::vector<std::string>& argv);  // cmd_bench_model.cpp

namespace {

void print_help() {
  std::printf(
      "usage: fathom bench serve --url http://127.0.0.1:8000 [--concurrency 8] [--requests 64]\n"
      "                          [--prompt-tokens 128] [--max-tokens 64] [--model NAME]\n"
      "                          [--api-key KEY] [--seed S] [--json] [--json-out FILE]\n");
}

Status bench_serve_main(const std::vector<std::string>& argv) {
  FATHOM_ASSIGN_OR_RETURN(Args args, Args::parse(argv,
                                                  {"url", "concurrency", "requests", "prompt-tokens", "max-tokens",
                                                   "model", "api-key", "seed", "json-out"},
                                                  {"json"}));
  server::ServeBenchConfig cfg;
  FATHOM_ASSIGN_OR_RETURN(cfg.url, args.required("url"));
  cfg.model = args.get_or("model", "");
  cfg.api_key = args.get_or("api-key", std::getenv("FATHOM_API_KEY") ? std::getenv("FATHOM_API_KEY") : "");
  FATHOM_ASSIGN_OR_RETURN(int64_t c, args.get_int("concurrency", cfg.concurrency));
  FATHOM_ASSIGN_OR_RETURN(int64_t m, args.get_int("requests", cfg.num_requests));
  FATHOM_ASSIGN_OR_RETURN(int64_t p, args.get_int("prompt-tokens", cfg.prompt_tokens));
  FATHOM_ASSIGN_OR_RETURN(int64_t g, args.get_int("max-tokens", cfg.max_tokens));
  FATHOM_ASSIGN_OR_RETURN(int64_t seed, args.get_int("seed", 0));
  if (c < 1 || c > 4096 || m < 1 || p < 1 || g < 1)
    return invalid_argument("--concurrency (1..4096), --requests, --prompt-tokens and --max-tokens must be positive");
  cfg.concurrency = static_cast<int32_t>(c);
  cfg.num_requests = static_cast<int32_t>(m);
  cfg.prompt_tokens = static_cast<int32_t>(p);
  cfg.max_tokens = static_cast<int32_t>(g);
  cfg.seed = static_cast<uint64_t>(seed);
  FATHOM_ASSIGN_OR_RETURN(server::ServeBenchResult r, server::run_serve_bench(cfg));
  std::fputs((args.has("json") ? server::serve_bench_json(cfg, r) : server::serve_bench_table(cfg, r)).c_str(), stdout);
  if (auto path = args.get("json-out")) {
    std::FILE* f = std::fopen(path->c_str(), "w");
    if (!f) return invalid_argument("--json-out: cannot write " + *path);
    std::fputs(server::serve_bench_json(cfg, r).c_str(), f);
    std::fclose(f);
  }
  if (r.completed == 0) return unavailable("every request failed: " + r.first_error);
  return ok_status();
}

}  // namespace

int run_bench(const std::vector<std::string>& argv) {
  if (argv.empty() || argv[0] == "--help" || argv[0] == "-h") {
    std::printf(
        "usage: fathom bench serve [flags]   load-test a running server\n"
        "       fathom bench model [flags]   prefill and decode speed of a model on this machine\n"
        "(run 'fathom bench serve --help' or 'fathom bench model --help')\n");
    return argv.empty() ? 2 : 0;
  }
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (argv[0] == "model") return run_bench_model(rest);
  if (argv[0] != "serve") {
    std::fprintf(stderr, "fathom bench: unknown benchmark '%s' (known: serve, model)\n",
                 argv[0].c_str());
    return 2;
  }
  for (const auto& a : rest) {
    if (a == "--help" || a == "-h") {
      print_help();
      return 0;
    }
  }
  Status s = bench_serve_main(rest);
  if (!s.ok()) {
    std::fprintf(stderr, "fathom bench serve: %s\n", s.message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace fathom::cli
