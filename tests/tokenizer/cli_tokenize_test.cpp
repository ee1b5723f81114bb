// fathom tokenize / detokenize / chat-template on the fixture models' tokenizer (stdin -> stdout).
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace fathom::cli {
int run_tokenize(const std::vector<std::string>& args);
int run_detokenize(const std::vector<std::string>& args);
int run_chat_template(const std::vector<std::string>& args);
}  // namespace fathom::cli

namespace {

struct CliRun {
  int exit_code;
  std::string out;
};

// Runs a subcommand with `input` as stdin and captures stdout.
CliRun run(int (*fn)(const std::vector<std::string>&), const std::vector<std::string>& args,
           const std::string& input) {
  std::istringstream in(input);
  std::ostringstream out;
  std::streambuf* old_in = std::cin.rdbuf(in.rdbuf());
  std::streambuf* old_out = std::cout.rdbuf(out.rdbuf());
  const int rc = fn(args);
  std::cin.rdbuf(old_in);
  std::cout.rdbuf(old_out);
  return {rc, out.str()};
}

const std::string kModel = "tests/data/models/deepseek_v3";

TEST(CliTokenizeTest, TokenizeAndDetokenizeRoundTrip) {
  const nlohmann::json ref = nlohmann::json::parse(std::ifstream(kModel + "/reference.json"));
  const auto& chat = ref["chat"][1];
  const std::string text = chat["prompt_text"].get<std::string>();
  const CliRun tok = run(fathom::cli::run_tokenize, {"--model", kModel, "--no-special"},
                         nlohmann::json(text).dump() + "\n" + nlohmann::json("hi").dump() + "\n");
  ASSERT_EQ(tok.exit_code, 0);
  std::istringstream lines(tok.out);
  std::string first, second;
  std::getline(lines, first);
  std::getline(lines, second);
  EXPECT_EQ(nlohmann::json::parse(first), chat["prompt_ids"]);
  EXPECT_FALSE(second.empty());

  const CliRun detok = run(fathom::cli::run_detokenize, {"--model", kModel}, first + "\n");
  ASSERT_EQ(detok.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(detok.out).get<std::string>(), text);
}

TEST(CliTokenizeTest, ChatTemplateRendersReferencePrompt) {
  const nlohmann::json ref = nlohmann::json::parse(std::ifstream(kModel + "/reference.json"));
  const auto& chat = ref["chat"][2];
  const CliRun r = run(fathom::cli::run_chat_template,
                       {"--model", kModel, "--add-generation-prompt"}, chat["messages"].dump());
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, chat["prompt_text"].get<std::string>());
}

TEST(CliTokenizeTest, BadInputFailsWithNonZeroExit) {
  EXPECT_NE(run(fathom::cli::run_tokenize, {"--model", kModel}, "not json\n").exit_code, 0);
  EXPECT_NE(run(fathom::cli::run_detokenize, {"--model", kModel}, "[1, -5]\n").exit_code, 0);
  EXPECT_NE(
      run(fathom::cli::run_chat_template, {"--model", kModel}, "{\"role\": \"user\"}").exit_code,
      0);
  EXPECT_NE(run(fathom::cli::run_tokenize, {"--model", "tests/data/no-such-model"}, "").exit_code,
            0);
  EXPECT_NE(run(fathom::cli::run_tokenize, {"--bogus"}, "").exit_code, 0);
}

}  // namespace
