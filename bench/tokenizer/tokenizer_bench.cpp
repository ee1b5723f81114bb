// Single-thread encode throughput (MB/s) of fathom's tokenizers on a mixed-script corpus (one
// JSON string per line, from make_corpus.cjs). run.sh runs the references beside it.
//
//   tokenizer_bench TOKENIZERS_DIR CORPUS [REPEATS]
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: tokenizer_bench TOKENIZERS_DIR CORPUS [REPEATS]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const int repeats = argc > 3 ? std::atoi(argv[3]) : 3;
  std::ifstream in(argv[2]);
  std::vector<std::string> docs;
  size_t bytes = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    docs.push_back(nlohmann::json::parse(line).get<std::string>());
    bytes += docs.back().size();
  }
  if (docs.empty()) {
    std::fprintf(stderr, "tokenizer_bench: empty corpus %s\n", argv[2]);
    return 1;
  }
  for (const char* name : {"deepseek_v3", "qwen3", "llama3_1"}) {
    auto tok = fathom::tokenizer::Tokenizer::load(dir + "/" + name);
    if (!tok.ok()) {
      std::fprintf(stderr, "tokenizer_bench: %s\n", tok.status().to_string().c_str());
      return 1;
    }
    double best_s = 1e30;
    size_t tokens = 0;
    // The first pass is also timed: BPE caches start empty for every tokenizer, as in the
    // transformers.js run; report the best of the repeats like it does.
    for (int rep = 0; rep < repeats; ++rep) {
      tokens = 0;
      const auto t0 = std::chrono::steady_clock::now();
      for (const std::string& d : docs) {
        auto ids = tok->encode(d, false);
        if (!ids.ok()) return 1;
        tokens += ids->size();
      }
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      best_s = std::min(best_s, s);
    }
    std::printf(
        "{\"engine\": \"fathom\", \"tokenizer\": \"%s\", \"mb\": %.3f, \"tokens\": %zu, "
        "\"seconds\": %.4f, "
        "\"mb_per_s\": %.2f}\n",
        name, bytes / 1e6, tokens, best_s, bytes / 1e6 / best_s);
    std::fflush(stdout);
  }
  return 0;
}
