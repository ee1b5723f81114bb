#include "quant/text_tokens.h"

#include <fstream>
#include <sstream>

#include "tokenizer/tokenizer.h"

namespace fathom::quant {

Result<std::vector<int32_t>> tokenize_text_file(const std::string& text_path,
                                                const std::string& tokenizer_dir,
                                                const std::string& flag) {
  std::ifstream in(text_path, std::ios::binary);
  if (!in) return invalid_argument(flag + ": cannot read " + text_path);
  std::ostringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  if (text.empty()) return invalid_argument(flag + ": " + text_path + " is empty");
  auto tok = tokenizer::Tokenizer::load(tokenizer_dir);
  if (!tok.ok())
    return invalid_argument("tokenizer in " + tokenizer_dir + ": " + tok.status().message());
  return tok->encode(text, false);
}

}  // namespace fathom::quant
