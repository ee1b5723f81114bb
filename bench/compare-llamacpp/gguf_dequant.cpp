// Dumps GGUF tensors dequantized by fathom (formats/gguf reader + kernels::ggml_dequantize, the
// definition every kernel path is tested against), for bench/compare-llamacpp/check_dequant.py
// to compare with llama.cpp's gguf-py dequantizers.
//
//   gguf_dequant FILE.gguf                     lists every tensor: name, type, dims (ne order)
//   gguf_dequant FILE.gguf OUTDIR NAME[:ROWS]... writes OUTDIR/NAME.f32 (little-endian float32 in
//                                              the file's element order): the whole tensor, or
//                                              its first ROWS rows of dims[0] elements
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "formats/gguf.h"
#include "kernels/ggml_blocks.h"

namespace {

using namespace fathom;

std::string dims_text(const formats::GgufTensor& t) {
  std::string s;
  for (int64_t d : t.dims) s += (s.empty() ? "" : ",") + std::to_string(d);
  return s;
}

int dump(const formats::GgufContents& g, const std::string& out_dir, const std::string& arg) {
  const size_t colon = arg.find(':');
  const std::string name = arg.substr(0, colon);
  const formats::GgufTensor* t = g.find_tensor(name);
  if (!t) {
    std::fprintf(stderr, "gguf_dequant: no tensor '%s'\n", name.c_str());
    return 1;
  }
  int64_t n = t->numel();
  if (colon != std::string::npos) {
    const int64_t rows = std::atoll(arg.c_str() + colon + 1);
    if (rows <= 0 || t->dims.empty()) {
      std::fprintf(stderr, "gguf_dequant: '%s': ROWS must be a positive count\n", arg.c_str());
      return 1;
    }
    n = std::min(n, rows * t->dims[0]);
  }
  std::vector<float> values(static_cast<size_t>(n));
  kernels::ggml_dequantize(t->type, t->data, n, values.data());
  const std::string path = out_dir + "/" + name + ".f32";
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(values.data()),
            static_cast<std::streamsize>(values.size() * sizeof(float)));
  if (!out) {
    std::fprintf(stderr, "gguf_dequant: cannot write %s\n", path.c_str());
    return 1;
  }
  std::printf("%s %s %s\n", name.c_str(), ggml_type_name(t->type), dims_text(*t).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc == 3) {
    std::fprintf(stderr, "usage: gguf_dequant FILE.gguf [OUTDIR NAME...]\n");
    return 2;
  }
  auto file = formats::GgufFile::open(argv[1]);
  if (!file.ok()) {
    std::fprintf(stderr, "gguf_dequant: %s\n", file.status().to_string().c_str());
    return 1;
  }
  const formats::GgufContents& g = file->contents();
  if (argc == 2) {
    for (const formats::GgufTensor& t : g.tensors)
      std::printf("%s %s %s\n", t.name.c_str(), ggml_type_name(t.type), dims_text(t).c_str());
    return 0;
  }
  for (int i = 3; i < argc; ++i)
    if (int rc = dump(g, argv[2], argv[i]); rc != 0) return rc;
  return 0;
}
