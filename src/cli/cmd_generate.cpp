// fathom generate --model DIR --ids 0,17,42 --max-tokens N [--temperature T --seed S ...]
// Prints the generated ids, comma-separated, on one line.
#include <cstdio>

#include "cli/args.h"
#include "base/clock.h"
#include "engine/run_to_completion.h"
#include "model/model.h"

namespace fathom::cli {
namespace {

Status generate_main(const std::vector<std::string>& argv) {
  FATHOM_ASSIGN_OR_RETURN(
      Args args, Args::parse(argv, {"model", "ids", "max-tokens", "temperature", "top-p", "top-k",
                                    "min-p", "seed"},
                             {"ignore-eos"}));
  FATHOM_ASSIGN_OR_RETURN(std::string dir, args.required("model"));
  FATHOM_ASSIGN_OR_RETURN(std::string ids_text, args.required("ids"));
  engine::EngineRequest req;
  req.request_id = "cli";
  FATHOM_ASSIGN_OR_RETURN(req.prompt_ids, parse_id_list(ids_text));
  FATHOM_ASSIGN_OR_RETURN(req.params.max_tokens, args.get_int("max-tokens", 16));
  FATHOM_ASSIGN_OR_RETURN(double temperature, args.get_double("temperature", 0.0));
  FATHOM_ASSIGN_OR_RETURN(double top_p, args.get_double("top-p", 1.0));
  FATHOM_ASSIGN_OR_RETURN(int64_t top_k, args.get_int("top-k", 0));
  FATHOM_ASSIGN_OR_RETURN(double min_p, args.get_double("min-p", 0.0));
  FATHOM_ASSIGN_OR_RETURN(int64_t seed, args.get_int("seed", 0));
  req.params.sampling = {static_cast<float>(temperature), static_cast<float>(top_p),
                  static_cast<int32_t>(top_k), static_cast<float>(min_p), static_cast<uint64_t>(seed)};

  req.params.ignore_eos = args.has("ignore-eos");
  FATHOM_ASSIGN_OR_RETURN(auto m, model::load_model(dir));
  SteadyClock clock;
  FATHOM_ASSIGN_OR_RETURN(auto eng, engine::Engine::create(std::move(m), {}, clock));
  bool first = true;
  FATHOM_ASSIGN_OR_RETURN(auto result, engine::run_to_completion(*eng, req, [&](int32_t id) {
    std::printf(first ? "%d" : ",%d", id);
    std::fflush(stdout);
    first = false;
  }));
  std::printf("\n");
  std::fprintf(stderr, "%zu tokens, finish: %s\n", result.ids.size(),
               engine::finish_reason_name(result.finish));
  return ok_status();
}

}  // namespace

int run_generate(const std::vector<std::string>& argv) {
  for (const auto& a : argv) {
    if (a == "--help") {
      std::printf("usage: fathom generate --model DIR --ids 0,17,42 [--max-tokens N] [--temperature T]\n"
                  "                       [--top-p P] [--top-k K] [--min-p M] [--seed S] [--ignore-eos]\n");
      return 0;
    }
  }
  Status s = generate_main(argv);
  if (!s.ok()) {
    std::fprintf(stderr, "fathom generate: %s\n", s.message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace fathom::cli
