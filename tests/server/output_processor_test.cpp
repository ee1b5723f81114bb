// The output processor on the fixture tokenizers: incremental detokenization equals a whole
// decode, stop strings cut the text also across token boundaries, and held-back text never leaks.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "server/output_processor.h"

namespace fathom::server {
namespace {

using engine::GeneratedToken;

const char* kModels = "tests/data/models";

nlohmann::json reference(const std::string& model) {
  std::ifstream in(std::string(kModels) + "/" + model + "/reference.json");
  return nlohmann::json::parse(in);
}

tokenizer::Tokenizer load(const std::string& model) {
  Result<tokenizer::Tokenizer> t = tokenizer::Tokenizer::load(std::string(kModels) + "/" + model);
  EXPECT_TRUE(t.ok()) << t.status().to_string();
  return std::move(*t);
}

std::vector<GeneratedToken> tokens_of(const std::vector<int32_t>& ids) {
  std::vector<GeneratedToken> out;
  for (int32_t id : ids) out.push_back({id, 0.0f, {}});
  return out;
}

class DetokenizeFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(DetokenizeFixture, StreamedPiecesEqualTheReferenceText) {
  const std::string model = GetParam();
  tokenizer::Tokenizer tok = load(model);
  const nlohmann::json ref = reference(model);  // the loop below must not range over a temporary
  for (const auto& conv : ref["chat"]) {
    const auto ids = conv["completion_ids"].get<std::vector<int32_t>>();
    OutputProcessor proc(tok, OutputOptions{});
    std::string streamed;
    for (size_t i = 0; i < ids.size(); ++i) {
      OutputDelta d = proc.process(tokens_of({ids[i]}), i + 1 == ids.size());
      streamed += d.content;
    }
    EXPECT_EQ(streamed, conv["completion_text"].get<std::string>());
    EXPECT_EQ(streamed, tok.decode(ids, true));
    EXPECT_EQ(proc.num_tokens(), static_cast<int64_t>(ids.size()));
    EXPECT_TRUE(proc.done());
  }
}

INSTANTIATE_TEST_SUITE_P(Models, DetokenizeFixture,
                         ::testing::Values("deepseek_v3", "deepseek_v2", "llama", "qwen2"));

TEST(OutputProcessorTest, HoldsBackAnIncompleteCharacter) {
  tokenizer::Tokenizer tok = load("deepseek_v3");
  Result<std::vector<int32_t>> ids = tok.encode("🚀🚀🚀", false);
  ASSERT_TRUE(ids.ok());
  OutputProcessor proc(tok, OutputOptions{});
  std::string out;
  for (size_t i = 0; i < ids->size(); ++i) {
    std::string piece = proc.process(tokens_of({(*ids)[i]}), i + 1 == ids->size()).content;
    EXPECT_EQ(piece.find("\xEF\xBF\xBD"), std::string::npos) << "emitted a replacement char mid-character";
    out += piece;
  }
  EXPECT_EQ(out, "🚀🚀🚀");
}

TEST(OutputProcessorTest, ToolCallMarkersSurviveSkipSpecialTokens) {
  tokenizer::Tokenizer tok = load("deepseek_v3");  // its tool-call markers are special tokens
  const std::string text =
      "Let me check.<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n"
      "{\"city\": \"Paris\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜>";
  Result<std::vector<int32_t>> ids = tok.encode(text, false);
  ASSERT_TRUE(ids.ok());
  OutputOptions options;
  options.parse_tool_calls = true;
  options.tool_call_id_prefix = "call_x_";
  OutputProcessor proc(tok, options);
  std::string content, name, args, id;
  for (size_t i = 0; i < ids->size(); ++i) {
    OutputDelta d = proc.process(tokens_of({(*ids)[i]}), i + 1 == ids->size());
    content += d.content;
    for (const auto& c : d.tool_calls) {
      EXPECT_EQ(c.index, 0);
      if (!c.id.empty()) id = c.id;
      name += c.name;
      args += c.arguments;
    }
  }
  EXPECT_EQ(content, "Let me check.");  // the EOS (special, not a marker) is skipped
  EXPECT_EQ(id, "call_x_0");
  EXPECT_EQ(name, "get_weather");
  EXPECT_EQ(args, "{\"city\": \"Paris\"}");
}

TEST(OutputProcessorTest, ReasoningSplitWithSpecialThinkTokens) {
  tokenizer::Tokenizer tok = load("deepseek_v3");  // <think> and </think> are special tokens here
  Result<std::vector<int32_t>> ids = tok.encode("<think>hmm, 2+2</think>It is 4.", false);
  ASSERT_TRUE(ids.ok());
  OutputOptions options;
  options.parse_reasoning = true;
  OutputProcessor proc(tok, options);
  std::string reasoning, content;
  for (size_t i = 0; i < ids->size(); ++i) {
    OutputDelta d = proc.process(tokens_of({(*ids)[i]}), i + 1 == ids->size());
    reasoning += d.reasoning;
    content += d.content;
  }
  EXPECT_EQ(reasoning, "hmm, 2+2");
  EXPECT_EQ(content, "It is 4.");
}

TEST(OutputProcessorTest, WithoutParsersSpecialMarkersAreSkipped) {
  tokenizer::Tokenizer tok = load("deepseek_v3");
  Result<std::vector<int32_t>> ids = tok.encode("<think>a</think>b", false);
  ASSERT_TRUE(ids.ok());
  OutputProcessor proc(tok, OutputOptions{});
  EXPECT_EQ(proc.process(tokens_of(*ids), true).content, "ab");
}

// Pieces of the reference completion, one per token, as the processor releases them.
std::vector<std::string> pieces_of(const tokenizer::Tokenizer& tok, const std::vector<int32_t>& ids) {
  OutputProcessor proc(tok, OutputOptions{});
  std::vector<std::string> pieces;
  for (size_t i = 0; i < ids.size(); ++i) pieces.push_back(proc.process(tokens_of({ids[i]}), i + 1 == ids.size()).content);
  return pieces;
}

TEST(OutputProcessorTest, StopStringAcrossATokenBoundaryTruncatesAndCountsTokens) {
  tokenizer::Tokenizer tok = load("deepseek_v3");
  const auto ids = reference("deepseek_v3")["chat"][2]["completion_ids"].get<std::vector<int32_t>>();
  const std::vector<std::string> pieces = pieces_of(tok, ids);
  // The first boundary between two ASCII-ended/-started pieces: stop = last char + first char.
  size_t k = 0;
  for (; k + 1 < pieces.size(); ++k)
    if (!pieces[k].empty() && !pieces[k + 1].empty() && static_cast<unsigned char>(pieces[k].back()) < 0x80 &&
        static_cast<unsigned char>(pieces[k + 1][0]) < 0x80)
      break;
  ASSERT_LT(k + 1, pieces.size()) << "no ASCII boundary in the reference completion";
  const std::string stop = std::string(1, pieces[k].back()) + pieces[k + 1][0];
  std::string full;
  for (const auto& p : pieces) full += p;
  const size_t at = full.find(stop);
  const std::string want = full.substr(0, at);

  OutputOptions options;
  options.stop = {stop};
  OutputProcessor proc(tok, options);
  std::string streamed;
  bool matched = false;
  for (size_t i = 0; i < ids.size() && !matched; ++i) {
    OutputDelta d = proc.process(tokens_of({ids[i]}), i + 1 == ids.size());
    streamed += d.content;
    EXPECT_EQ(want.compare(0, streamed.size(), streamed), 0) << "released text beyond the stop: " << streamed;
    matched = d.stop_matched;
  }
  EXPECT_TRUE(matched);
  EXPECT_EQ(streamed, want);
  EXPECT_TRUE(proc.done());
  size_t prefix_len = 0, tokens_to_stop = 0;
  while (prefix_len < at + stop.size()) prefix_len += pieces[tokens_to_stop++].size();
  EXPECT_EQ(proc.num_tokens(), static_cast<int64_t>(tokens_to_stop));

  // After a match, later tokens are ignored.
  OutputDelta late = proc.process(tokens_of({ids.back()}), true);
  EXPECT_TRUE(late.content.empty());
  EXPECT_EQ(proc.num_tokens(), static_cast<int64_t>(tokens_to_stop));
}

TEST(OutputProcessorTest, IncludeStopStringAndStopInOneUpdate) {
  tokenizer::Tokenizer tok = load("deepseek_v3");
  const auto ids = reference("deepseek_v3")["chat"][2]["completion_ids"].get<std::vector<int32_t>>();
  const std::string full = tok.decode(ids, true);
  const std::string stop = full.substr(3, 4);
  OutputOptions options;
  options.stop = {"never-there", stop};
  options.include_stop_str_in_output = true;
  OutputProcessor proc(tok, options);
  OutputDelta d = proc.process(tokens_of(ids), true);  // every token in one update
  EXPECT_TRUE(d.stop_matched);
  EXPECT_EQ(d.content, full.substr(0, full.find(stop) + stop.size()));
}

TEST(OutputProcessorTest, PartialStopIsHeldBackThenReleasedAtTheEnd) {
  tokenizer::Tokenizer tok = load("deepseek_v3");
  const auto ids = reference("deepseek_v3")["chat"][2]["completion_ids"].get<std::vector<int32_t>>();
  const std::string full = tok.decode(ids, true);
  OutputOptions options;
  options.stop = {full.substr(full.size() - 2) + "\x01"};  // its start ends the text, the rest never comes
  OutputProcessor proc(tok, options);
  std::string streamed;
  for (size_t i = 0; i + 1 < ids.size(); ++i) streamed += proc.process(tokens_of({ids[i]}), false).content;
  OutputDelta last = proc.process(tokens_of({ids.back()}), false);
  streamed += last.content;
  EXPECT_EQ(streamed, full.substr(0, full.size() - 2));  // the two chars wait
  OutputDelta end = proc.process({}, true);
  EXPECT_FALSE(end.stop_matched);
  EXPECT_EQ(streamed + end.content, full);
}

}  // namespace
}  // namespace fathom::server
