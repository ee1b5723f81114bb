// fathom prune --model DIR --out DIR --method magnitude|wanda [--sparsity 0.5 | --pattern 2:4]
//              [--structured --mlp-keep 0.75 --heads-keep 0.75] [--calib FILE] [--samples 32]
//              [--ctx 512] [--tokenizer DIR]
#include <cstdio>

#include "cli/args.h"
#include "quant/prune.h"
#include "quant/text_tokens.h"

namespace fathom::cli {
namespace {

Status prune_main(const std::vector<std::string>& argv) {
  FATHOM_ASSIGN_OR_RETURN(Args args,
                          Args::parse(argv,
                                      {"model", "out", "method", "sparsity", "pattern", "mlp-keep",
                                       "heads-keep", "calib", "samples", "ctx", "tokenizer"},
                                      {"structured"}));
  FATHOM_ASSIGN_OR_RETURN(std::string dir, args.required("model"));
  FATHOM_ASSIGN_OR_RETURN(std::string out, args.required("out"));
  quant::PruneOptions o;
  o.structured = args.has("structured");
  if (!o.structured || args.has("method")) {
    FATHOM_ASSIGN_OR_RETURN(std::string method, args.required("method"));
    FATHOM_ASSIGN_OR_RETURN(o.method, quant::parse_prune_method(method));
  }
  if (auto pattern = args.get("pattern")) {
    if (*pattern != "2:4") return invalid_argument("--pattern: '" + *pattern + "' is not 2:4");
    if (args.has("sparsity"))
      return invalid_argument("--pattern: give --sparsity or --pattern, not both");
    o.two_four = true;
  }
  if (o.structured && (o.two_four || args.has("sparsity")))
    return invalid_argument(
        "--structured: removes whole channels; --sparsity and --pattern do not apply");
  if (!o.structured && (args.has("mlp-keep") || args.has("heads-keep")))
    return invalid_argument("--mlp-keep/--heads-keep: only with --structured");
  FATHOM_ASSIGN_OR_RETURN(o.sparsity, args.get_double("sparsity", 0.5));
  FATHOM_ASSIGN_OR_RETURN(o.mlp_keep, args.get_double("mlp-keep", 0.75));
  FATHOM_ASSIGN_OR_RETURN(o.heads_keep, args.get_double("heads-keep", 0.75));
  FATHOM_ASSIGN_OR_RETURN(o.samples, args.get_int("samples", 32));
  FATHOM_ASSIGN_OR_RETURN(o.ctx, args.get_int("ctx", 512));
  if (o.samples <= 0) return invalid_argument("--samples: must be positive");
  if (o.ctx < 2) return invalid_argument("--ctx: must be at least 2");
  if (auto calib = args.get("calib")) {
    FATHOM_ASSIGN_OR_RETURN(o.calib_tokens, quant::tokenize_text_file(
                                                *calib, args.get_or("tokenizer", dir), "--calib"));
  }
  o.progress = stderr;
  FATHOM_ASSIGN_OR_RETURN(quant::PruneReport r, quant::prune_model(dir, out, o));
  if (o.structured) {
    std::printf(
        "pruned %lld layers' width: intermediate_size %lld, %lld heads, %lld KV heads -> %s\n",
        static_cast<long long>(r.layers), static_cast<long long>(r.intermediate_size),
        static_cast<long long>(r.num_heads), static_cast<long long>(r.num_kv_heads), out.c_str());
  } else {
    std::printf("zeroed %lld weights in %lld linear layers -> %s\n",
                static_cast<long long>(r.zeroed), static_cast<long long>(r.layers), out.c_str());
  }
  return ok_status();
}

}  // namespace

int run_prune(const std::vector<std::string>& argv) {
  for (const auto& a : argv) {
    if (a == "--help" || a == "-h") {
      std::printf(
          "usage: fathom prune --model DIR --out DIR --method magnitude|wanda\n"
          "                    [--sparsity 0.5 | --pattern 2:4] [--calib FILE]\n"
          "       fathom prune --model DIR --out DIR --structured [--mlp-keep 0.75]\n"
          "                    [--heads-keep 0.75] --calib FILE\n"
          "  magnitude  zero the smallest |W| of each output row\n"
          "  wanda      zero the smallest |W| * ||X|| (input activation norms from --calib)\n"
          "  --structured  remove MLP channels and whole KV groups (with their query heads) by\n"
          "                importance on --calib, writing a smaller dense model\n"
          "  [--samples 32] [--ctx 512] [--tokenizer DIR]  calibration windows and tokenizer\n");
      return 0;
    }
  }
  Status s = prune_main(argv);
  if (!s.ok()) {
    std::fprintf(stderr, "fathom prune: %s\n", s.message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace fathom::cli
