// fathom quantize --model DIR --out DIR --method gptq|awq|rtn|int8 [--bits 4]
//                 [--group-size 128] [--act-order] [--calib FILE] [--samples 128] [--ctx 512]
//                 [--damp 0.01] [--tokenizer DIR]
// Writes a quantized copy of a float Hugging Face model folder in the layout transformers and
// vLLM read (GPTQ, AWQ GEMM, compressed-tensors int8 pack-quantized).
#include <chrono>
#include <cstdio>

#include "cli/args.h"
#include "quant/quantize_model.h"
#include "quant/text_tokens.h"

namespace fathom::cli {
namespace {

Status quantize_main(const std::vector<std::string>& argv) {
  FATHOM_ASSIGN_OR_RETURN(Args args, Args::parse(argv,
                                                 {"model", "out", "method", "bits", "group-size",
                                                  "calib", "samples", "ctx", "damp", "tokenizer"},
                                                 {"act-order"}));
  FATHOM_ASSIGN_OR_RETURN(std::string dir, args.required("model"));
  FATHOM_ASSIGN_OR_RETURN(std::string out, args.required("out"));
  FATHOM_ASSIGN_OR_RETURN(std::string method_text, args.required("method"));
  quant::QuantizeOptions o;
  FATHOM_ASSIGN_OR_RETURN(o.method, quant::parse_quantize_method(method_text));
  FATHOM_ASSIGN_OR_RETURN(int64_t bits, args.get_int("bits", 4));
  FATHOM_ASSIGN_OR_RETURN(o.params.group_size, args.get_int("group-size", 128));
  FATHOM_ASSIGN_OR_RETURN(o.samples, args.get_int("samples", 128));
  FATHOM_ASSIGN_OR_RETURN(o.ctx, args.get_int("ctx", 512));
  FATHOM_ASSIGN_OR_RETURN(o.params.damp_percent, args.get_double("damp", 0.01));
  if (bits != 4 && o.method != quant::QuantizeMethod::kInt8)
    return invalid_argument("--bits: " + std::to_string(bits) + " is not supported (4 only)");
  if (bits != 4 && bits != 8 && o.method == quant::QuantizeMethod::kInt8)
    return invalid_argument("--bits: int8 is 8-bit");
  o.params.bits = 4;
  if (o.params.group_size == 0 || o.params.group_size < -1)
    return invalid_argument("--group-size: must be positive or -1, got " +
                            std::to_string(o.params.group_size));
  if (o.samples <= 0) return invalid_argument("--samples: must be positive");
  if (o.ctx < 2) return invalid_argument("--ctx: must be at least 2");
  if (!(o.params.damp_percent > 0.0 && o.params.damp_percent < 1.0))
    return invalid_argument("--damp: must be in (0, 1)");
  o.params.act_order = args.has("act-order");
  o.progress = stderr;
  if (auto calib = args.get("calib")) {
    FATHOM_ASSIGN_OR_RETURN(o.calib_tokens, quant::tokenize_text_file(
                                                *calib, args.get_or("tokenizer", dir), "--calib"));
  }
  const auto start = std::chrono::steady_clock::now();
  FATHOM_ASSIGN_OR_RETURN(quant::QuantizeReport r, quant::quantize_model(dir, out, o));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "quantized %lld linear layers with %s in %.1f s (%lld calibration tokens, %lld "
      "calibration passes) -> %s\n",
      static_cast<long long>(r.layers_quantized), quant::quantize_method_name(o.method), seconds,
      static_cast<long long>(r.calib_tokens), static_cast<long long>(r.calibration_passes),
      out.c_str());
  return ok_status();
}

}  // namespace

int run_quantize(const std::vector<std::string>& argv) {
  for (const auto& a : argv) {
    if (a == "--help" || a == "-h") {
      std::printf(
          "usage: fathom quantize --model DIR --out DIR --method gptq|awq|rtn|int8\n"
          "                       [--bits 4] [--group-size 128] [--act-order] [--calib FILE]\n"
          "                       [--samples 128] [--ctx 512] [--damp 0.01] [--tokenizer DIR]\n"
          "  gptq   4-bit GPTQ (Hessian from --calib activations; --act-order = desc_act)\n"
          "  awq    4-bit AWQ GEMM (activation-aware scales from --calib, asymmetric)\n"
          "  rtn    4-bit round-to-nearest in the GPTQ layout (the baseline)\n"
          "  int8   compressed-tensors W8A16 per-channel int8 (pack-quantized)\n"
          "  --samples N  calibration windows of --ctx tokens taken from --calib\n"
          "  --group-size -1 means one group per input row\n");
      return 0;
    }
  }
  Status s = quantize_main(argv);
  if (!s.ok()) {
    std::fprintf(stderr, "fathom quantize: %s\n", s.message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace fathom::cli
