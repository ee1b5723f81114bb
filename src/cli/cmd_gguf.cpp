// fathom gguf-convert: a Hugging Face model folder (float weights + tokenizer) to one GGUF file
// that `fathom serve --model FILE.gguf` (and llama.cpp) can load, every matrix quantized to one
// type by rounding to nearest (llama.cpp's per-tensor fallbacks where rows do not divide into
// blocks). `fathom quantize` is the tool for quality mixes and importance matrices.
//
//   fathom gguf-convert --model DIR --out FILE.gguf [--type F32|F16|BF16|Q8_0|Q4_K|...]
#include <cstdio>
#include <string>
#include <vector>

#include "cli/args.h"
#include "model/gguf_export.h"
#include "quant/kquant_gguf.h"

namespace fathom::cli {
namespace {

Result<GgmlType> parse_type(const std::string& text) {
  std::string names;
  for (GgmlType t : kGgmlTypes) {
    if (text == ggml_type_name(t)) return t;
    names += std::string(names.empty() ? "" : ", ") + ggml_type_name(t);
  }
  return invalid_argument("--type '" + text + "' is not one of " + names);
}

Status convert(const Args& args) {
  FATHOM_ASSIGN_OR_RETURN(std::string dir, args.required("model"));
  FATHOM_ASSIGN_OR_RETURN(std::string out, args.required("out"));
  model::GgufExportOptions opts;
  FATHOM_ASSIGN_OR_RETURN(opts.type, parse_type(args.get("type").value_or("F16")));
  FATHOM_ASSIGN_OR_RETURN(opts.extra_metadata,
                          quant::gguf_tokenizer_keys(dir, stderr, "gguf-convert"));
  FATHOM_ASSIGN_OR_RETURN(model::GgufExportSummary summary, model::export_gguf(dir, out, opts));
  std::string counts;
  for (const auto& [type, n] : summary)
    counts += (counts.empty() ? "" : ", ") + std::to_string(n) + " " + ggml_type_name(type);
  std::printf("wrote %s (%s)\n", out.c_str(), counts.c_str());
  return ok_status();
}

}  // namespace

int run_gguf_convert(const std::vector<std::string>& argv) {
  for (const std::string& a : argv)
    if (a == "--help" || a == "-h") {
      std::printf(
          "usage: fathom gguf-convert --model DIR --out FILE.gguf [--type F16]\n"
          "Writes a Hugging Face folder (float weights, byte-level BPE tokenizer) as one GGUF\n"
          "file laid out as llama.cpp's convert_hf_to_gguf.py lays it out. --type: F32, F16,\n"
          "BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS\n"
          "(round to nearest; norms stay F32).\n");
      return 0;
    }
  Result<Args> args = Args::parse(argv, {"model", "out", "type"}, {});
  Status s = args.ok() ? convert(*args) : args.status();
  if (!s.ok()) {
    std::fprintf(stderr, "fathom gguf-convert: %s\n", s.to_string().c_str());
    return 1;
  }
  return 0;
}

}  // namespace fathom::cli
