// fathom vs the Hugging Face Rust tokenizers and transformers.js on thousands of generated strings
// (see node/gen_differential.cjs and run_differential.sh, which ctest runs as
// tokenizer_differential). Reads FATHOM_DIFFERENTIAL_DIR.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_test_util.h"

namespace fathom::tokenizer {
namespace {

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

std::string printable(const std::string& s) {
  nlohmann::json j = s;
  return j.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
}

class DifferentialTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DifferentialTest, MatchesRustTokenizersAndTransformersJs) {
  const char* dir = std::getenv("FATHOM_DIFFERENTIAL_DIR");
  if (dir == nullptr)
    GTEST_SKIP()
        << "FATHOM_DIFFERENTIAL_DIR not set (ctest runs tests/tokenizer/run_differential.sh)";
  const std::string file = std::string(dir) + "/" + GetParam() + ".json";
  const std::string tok_dir = testing::real_tokenizer_dir(GetParam());
  if (!std::filesystem::exists(file) || tok_dir.empty()) GTEST_SKIP() << testing::kSkipMessage;
  Result<Tokenizer> tok = Tokenizer::load(tok_dir);
  ASSERT_TRUE(tok.ok()) << tok.status().to_string();
  const nlohmann::json data = testing::load_json(file);
  // Both references apply tokenizer.json's post-processor for add_special_tokens; transformers
  // (the fixtures' hf_ids) and fathom also apply tokenizer_config's add_bos_token (DeepSeek-V3).
  const bool config_bos = tok->config().add_bos_token.value_or(false) && tok->bos_id().has_value();
  int num_cases = 0;
  int num_js_cases = 0;
  int num_mismatches = 0;
  auto check = [&](const std::string& text, const std::string& hex, bool special,
                   std::vector<int32_t> want, const std::vector<int32_t>& want_plain,
                   const char* reference) {
    if (special && config_bos) {
      want = want_plain;
      want.insert(want.begin(), *tok->bos_id());
    }
    Result<std::vector<int32_t>> ids = tok->encode(text, special);
    ASSERT_TRUE(ids.ok()) << ids.status().to_string();
    if (*ids != want && ++num_mismatches <= 10) {
      ADD_FAILURE() << reference << ": input " << printable(text) << " (hex " << hex
                    << ", add_special_tokens=" << special
                    << ")\n  fathom:    " << nlohmann::json(*ids).dump()
                    << "\n  reference: " << nlohmann::json(want).dump();
    }
  };
  for (const auto& c : data["cases"]) {
    const std::string hex = c["hex"].get<std::string>();
    const std::string text = from_hex(hex);
    const auto rust = c["rust"].get<std::vector<int32_t>>();
    check(text, hex, false, rust, rust, "tokenizers (Rust)");
    check(text, hex, true, c["rust_special"].get<std::vector<int32_t>>(), rust,
          "tokenizers (Rust)");
    if (c["js"].get<bool>()) {
      const auto js = c["ids"].get<std::vector<int32_t>>();
      check(text, hex, false, js, js, "transformers.js");
      check(text, hex, true, c["ids_special"].get<std::vector<int32_t>>(), js, "transformers.js");
      ++num_js_cases;
    }
    ++num_cases;
  }
  int num_decodes = 0;
  for (const auto& d : data["decodes"]) {
    const auto ids = d["ids"].get<std::vector<int32_t>>();
    for (bool skip : {false, true}) {
      const std::string want = d[skip ? "text_skip" : "text"].get<std::string>();
      const std::string got = tok->decode(ids, skip);
      if (got != want && ++num_mismatches <= 10) {
        ADD_FAILURE() << "tokenizers (Rust) decode of " << nlohmann::json(ids).dump()
                      << " skip_special=" << skip << "\n  fathom:    " << printable(got)
                      << "\n  reference: " << printable(want);
      }
    }
    ++num_decodes;
  }
  EXPECT_GE(num_decodes, 100);
  EXPECT_EQ(num_mismatches, 0) << "of " << num_cases << " cases";
  EXPECT_GE(num_cases, 1000);
  EXPECT_GE(num_js_cases, num_cases / 2);
}

INSTANTIATE_TEST_SUITE_P(Real, DifferentialTest,
                         ::testing::Values("deepseek_v3", "qwen3", "llama3_1"));

}  // namespace
}  // namespace fathom::tokenizer
