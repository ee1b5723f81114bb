// fathom generate --model DIR (--ids 0,17,42 | --prompt TEXT) --max-tokens N [--temperature T ...]
// With --ids, prints the generated ids, comma-separated, on one line; with --prompt, encodes the
// text with the model's tokenizer and prints the generated text as it streams.
#include <cstdio>
#include <optional>

#include "cli/args.h"
#include "base/clock.h"
#include "engine/run_to_completion.h"
#include "model/model.h"
#include "tokenizer/stream_decoder.h"
#include "tokenizer/tokenizer.h"

namespace fathom::cli {
namespace {

Status generate_main(const std::vector<std::string>& argv) {
  FATHOM_ASSIGN_OR_RETURN(
      Args args, Args::parse(argv, {"model", "ids", "prompt", "max-tokens", "temperature", "top-p",
                                    "top-k", "min-p", "seed"},
                             {"ignore-eos"}));
  FATHOM_ASSIGN_OR_RETURN(std::string dir, args.required("model"));
  engine::EngineRequest req;
  req.request_id = "cli";
  std::optional<tokenizer::Tokenizer> tok;
  if (auto prompt = args.get("prompt")) {
    if (args.has("ids")) return invalid_argument("give either --ids or --prompt, not both");
    FATHOM_ASSIGN_OR_RETURN(tok, tokenizer::Tokenizer::load(dir));
    FATHOM_ASSIGN_OR_RETURN(req.prompt_ids, tok->encode(*prompt, /*add_special_tokens=*/true));
  } else {
    FATHOM_ASSIGN_OR_RETURN(std::string ids_text, args.required("ids"));
    FATHOM_ASSIGN_OR_RETURN(req.prompt_ids, parse_id_list(ids_text));
  }
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
  std::optional<tokenizer::StreamDecoder> text;
  if (tok) text.emplace(*tok, /*skip_special_tokens=*/true);
  FATHOM_ASSIGN_OR_RETURN(auto result, engine::run_to_completion(*eng, req, [&](int32_t id) {
    if (text) {
      std::fputs(text->add(id).c_str(), stdout);
    } else {
      std::printf(first ? "%d" : ",%d", id);
    }
    std::fflush(stdout);
    first = false;
  }));
  if (text) std::fputs(text->finish().c_str(), stdout);
  std::printf("\n");
  std::fprintf(stderr, "%zu tokens, finish: %s\n", result.ids.size(),
               engine::finish_reason_name(result.finish));
  return ok_status();
}

}  // namespace

int run_generate(const std::vector<std::string>& argv) {
  for (const auto& a : argv) {
    if (a == "--help") {
      std::printf("usage: fathom generate --model DIR (--ids 0,17,42 | --prompt TEXT) [--max-tokens N]\n"
                  "                       [--temperature T]\n"
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
