// fathom perplexity --model DIR --text FILE [--base DIR] [--ctx N] [--max-windows N]
//                   [--tokenizer DIR] [--reference] [--activations exact|reduced]
//                   [--quantization auto|none|int8|int4|fp8]
// Perplexity of a model over held-out text and, with --base, the KL divergence of its token
// distributions from the base model's, top-1 agreement and the 99th percentile KL (llama.cpp's
// perplexity --kl-divergence numbers).
#include <cstdio>

#include "cli/args.h"
#include "model/model.h"
#include "quant/eval_quality.h"
#include "quant/text_tokens.h"

namespace fathom::cli {
namespace {

Status perplexity_main(const std::vector<std::string>& argv) {
  FATHOM_ASSIGN_OR_RETURN(Args args, Args::parse(argv,
                                                 {"model", "text", "base", "ctx", "max-windows",
                                                  "tokenizer", "activations", "quantization"},
                                                 {"reference"}));
  FATHOM_ASSIGN_OR_RETURN(std::string dir, args.required("model"));
  FATHOM_ASSIGN_OR_RETURN(std::string text, args.required("text"));
  FATHOM_ASSIGN_OR_RETURN(int64_t ctx, args.get_int("ctx", 512));
  FATHOM_ASSIGN_OR_RETURN(int64_t max_windows, args.get_int("max-windows", 0));
  if (ctx < 2) return invalid_argument("--ctx: must be at least 2, got " + std::to_string(ctx));
  if (max_windows < 0) return invalid_argument("--max-windows: must not be negative");
  const std::string tok_dir = args.get_or("tokenizer", dir);

  FATHOM_ASSIGN_OR_RETURN(std::vector<int32_t> tokens,
                          quant::tokenize_text_file(text, tok_dir, "--text"));
  model::LoadOptions opts;
  opts.reference_kernels = args.has("reference");
  FATHOM_ASSIGN_OR_RETURN(opts.quantization,  // both models: --base M isolates --activations
                          model::parse_quantization(args.get_or("quantization", "auto")));
  model::LoadOptions model_opts = opts;  // --base always runs on exact activations
  FATHOM_ASSIGN_OR_RETURN(model_opts.activations,
                          model::parse_activation_precision(args.get_or("activations", "exact")));
  FATHOM_ASSIGN_OR_RETURN(auto m, model::load_model(dir, model_opts));
  std::unique_ptr<model::Model> base;
  if (auto base_dir = args.get("base")) {
    auto b = model::load_model(*base_dir, opts);
    if (!b.ok()) return invalid_argument("--base: " + b.status().message());
    base = std::move(*b);
  }
  quant::QualityOptions q;
  q.ctx = ctx;
  q.max_windows = max_windows;
  q.progress = stderr;
  FATHOM_ASSIGN_OR_RETURN(quant::QualityReport r,
                          quant::evaluate_quality(*m, base.get(), tokens, q));
  std::printf("model: %s\n%s", dir.c_str(), quant::format_quality_report(r).c_str());
  return ok_status();
}

}  // namespace

int run_perplexity(const std::vector<std::string>& argv) {
  for (const auto& a : argv) {
    if (a == "--help" || a == "-h") {
      std::printf(
          "usage: fathom perplexity --model DIR --text FILE [--base DIR] [--ctx 512]\n"
          "                         [--max-windows N] [--tokenizer DIR] [--reference]\n"
          "                         [--activations exact|reduced]   (for --model only)\n"
          "                         [--quantization auto|none|int8|int4|fp8]  (both models)\n"
          "  --base DIR       also report KL(base || model), its 99th percentile and top-1 "
          "agreement\n"
          "  --ctx N          window length; the second half of each window is scored\n"
          "  --max-windows N  score at most N windows (0 = all)\n"
          "  --tokenizer DIR  folder with tokenizer.json (default: --model)\n");
      return 0;
    }
  }
  Status s = perplexity_main(argv);
  if (!s.ok()) {
    std::fprintf(stderr, "fathom perplexity: %s\n", s.message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace fathom::cli
