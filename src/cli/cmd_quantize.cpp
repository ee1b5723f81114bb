// fathom quantize --model DIR --out DIR --method gptq|awq|rtn|int8 [--bits 4]
//                 [--group-size 128] [--act-order] [--calib FILE] [--samples 128] [--ctx 512]
//                 [--damp 0.01] [--tokenizer DIR]
// fathom quantize --model DIR --out FILE.gguf --method q4_k_m|q5_k_m|q6_k|q8_0
//                 [--calibration FILE [--imatrix-out FILE]] [--imatrix FILE]
// Writes a quantized copy of a float Hugging Face model folder in the layout transformers and
// vLLM read (GPTQ, AWQ GEMM, compressed-tensors int8 pack-quantized), or one GGUF file with
// llama.cpp's k-quant mixes, optionally weighted by an importance matrix.
#include <chrono>
#include <cstdio>
#include <optional>

#include "cli/args.h"
#include "quant/kquant_gguf.h"
#include "quant/quantize_model.h"
#include "quant/text_tokens.h"

namespace fathom::cli {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// --method q4_k_m|q5_k_m|q6_k|q8_0: one GGUF file, the importance matrix from --imatrix or
// computed over --calibration (and saved to --imatrix-out).
Status quantize_gguf(const Args& args, const std::string& dir, const std::string& out,
                     quant::KQuantMix mix) {
  for (const char* flag : {"bits", "group-size", "damp", "act-order"})
    if (args.has(flag))
      return invalid_argument(std::string("--") + flag + ": not an option of --method " +
                              quant::kquant_mix_name(mix));
  const std::optional<std::string> calib =
      args.has("calibration") ? args.get("calibration") : args.get("calib");
  if (calib && args.has("imatrix"))
    return invalid_argument("--imatrix: give either --imatrix or --calibration, not both");
  if (args.has("imatrix-out") && !calib)
    return invalid_argument("--imatrix-out: needs --calibration (the text to compute it over)");
  const auto start = std::chrono::steady_clock::now();
  quant::KQuantOptions o;
  o.mix = mix;
  if (auto path = args.get("imatrix")) {
    FATHOM_ASSIGN_OR_RETURN(o.imatrix, quant::read_imatrix(*path));
  } else if (calib) {
    quant::ImatrixOptions io;
    FATHOM_ASSIGN_OR_RETURN(io.samples, args.get_int("samples", 128));
    FATHOM_ASSIGN_OR_RETURN(io.ctx, args.get_int("ctx", 512));
    if (io.samples <= 0) return invalid_argument("--samples: must be positive");
    if (io.ctx < 2) return invalid_argument("--ctx: must be at least 2");
    FATHOM_ASSIGN_OR_RETURN(io.tokens, quant::tokenize_text_file(
                                           *calib, args.get_or("tokenizer", dir), "--calibration"));
    io.dataset = *calib;
    io.progress = stderr;
    FATHOM_ASSIGN_OR_RETURN(o.imatrix, quant::compute_imatrix(dir, io));
    if (auto im_out = args.get("imatrix-out"))
      FATHOM_RETURN_IF_ERROR(quant::write_imatrix(*im_out, *o.imatrix));
  }
  FATHOM_ASSIGN_OR_RETURN(model::GgufExportSummary summary,
                          quant::quantize_kquant_gguf(dir, out, o));
  std::string counts;
  for (const auto& [type, n] : summary)
    counts += (counts.empty() ? "" : ", ") + std::to_string(n) + " " + ggml_type_name(type);
  std::printf("quantized to %s in %.1f s (%s; %s) -> %s\n", quant::kquant_mix_name(mix),
              seconds_since(start), counts.c_str(),
              o.imatrix ? ("imatrix of " + std::to_string(o.imatrix->entries.size()) +
                           " weights over " + std::to_string(o.imatrix->chunks) + " chunks")
                              .c_str()
                        : "no imatrix",
              out.c_str());
  return ok_status();
}

Status quantize_main(const std::vector<std::string>& argv) {
  FATHOM_ASSIGN_OR_RETURN(Args args, Args::parse(argv,
                                                 {"model", "out", "method", "bits", "group-size",
                                                  "calib", "calibration", "samples", "ctx", "damp",
                                                  "tokenizer", "imatrix", "imatrix-out"},
                                                 {"act-order"}));
  FATHOM_ASSIGN_OR_RETURN(std::string dir, args.required("model"));
  FATHOM_ASSIGN_OR_RETURN(std::string out, args.required("out"));
  FATHOM_ASSIGN_OR_RETURN(std::string method_text, args.required("method"));
  if (quant::KQuantMix mix; quant::parse_kquant_mix(method_text, &mix))
    return quantize_gguf(args, dir, out, mix);
  for (const char* flag : {"calibration", "imatrix", "imatrix-out"})
    if (args.has(flag))
      return invalid_argument(std::string("--") + flag +
                              ": only for the GGUF methods q4_k_m, q5_k_m, q6_k, q8_0");
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
  const double seconds = seconds_since(start);
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
          "       fathom quantize --model DIR --out FILE.gguf --method q4_k_m|q5_k_m|q6_k|q8_0\n"
          "                       [--calibration FILE [--imatrix-out FILE] [--samples 128]\n"
          "                       [--ctx 512]] [--imatrix FILE] [--tokenizer DIR]\n"
          "  gptq   4-bit GPTQ (Hessian from --calib activations; --act-order = desc_act)\n"
          "  awq    4-bit AWQ GEMM (activation-aware scales from --calib, asymmetric)\n"
          "  rtn    4-bit round-to-nearest in the GPTQ layout (the baseline)\n"
          "  int8   compressed-tensors W8A16 per-channel int8 (pack-quantized)\n"
          "  --samples N  calibration windows of --ctx tokens taken from --calib\n"
          "  --group-size -1 means one group per input row\n"
          "  q4_k_m, q5_k_m, q6_k, q8_0  GGUF with llama.cpp's per-tensor k-quant mix;\n"
          "         --calibration computes an importance matrix (llama.cpp's imatrix) over the\n"
          "         text, --imatrix-out saves it (.dat, llama-quantize reads it), --imatrix\n"
          "         reads one\n");
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
