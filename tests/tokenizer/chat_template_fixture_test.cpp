// The real DeepSeek-V3, Qwen3 and Llama 3.1 chat templates render the fixture conversations
// exactly as transformers 5.17 does (text and ids), and refuse where transformers raised.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <memory>

#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_test_util.h"

namespace fathom::tokenizer {
namespace {

using nlohmann::ordered_json;
using testing::kSkipMessage;
using testing::real_tokenizer_dir;

class RealChatTemplateTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RealChatTemplateTest, RendersLikeTransformers) {
  const std::string dir = real_tokenizer_dir(GetParam());
  if (dir.empty()) GTEST_SKIP() << kSkipMessage;
  Result<Tokenizer> tok = Tokenizer::load(dir);
  ASSERT_TRUE(tok.ok()) << tok.status().to_string();
  Result<ChatTemplate> tmpl = ChatTemplate::from_tokenizer(*tok);
  ASSERT_TRUE(tmpl.ok()) << tmpl.status().to_string();
  std::ifstream in("tests/data/tokenizers/" + GetParam() + ".json");
  const ordered_json fixture = ordered_json::parse(in);
  int num_rendered = 0;
  int num_refused = 0;
  for (const ordered_json& chat : fixture["chat"]) {
    SCOPED_TRACE(chat["messages"].dump() +
                 (chat["add_generation_prompt"].get<bool>() ? " +agp" : ""));
    ChatRenderOptions options;
    options.add_generation_prompt = chat["add_generation_prompt"].get<bool>();
    Result<std::string> text = render_chat(*tmpl, chat["messages"], nullptr, options);
    if (chat.contains("error")) {
      EXPECT_FALSE(text.ok()) << "reference raised " << chat["error"].get<std::string>()
                              << " but fathom rendered:\n"
                              << *text;
      if (!text.ok()) {
        EXPECT_NE(text.status().message().find("line"), std::string::npos)
            << text.status().message();
      }
      ++num_refused;
      continue;
    }
    ASSERT_TRUE(text.ok()) << text.status().to_string();
    EXPECT_EQ(*text, chat["rendered"].get<std::string>());
    Result<std::vector<int32_t>> ids = tok->encode(*text, false);
    ASSERT_TRUE(ids.ok());
    EXPECT_EQ(*ids, chat["ids"].get<std::vector<int32_t>>());
    ++num_rendered;
  }
  EXPECT_EQ(num_rendered + num_refused, 14);
}

INSTANTIATE_TEST_SUITE_P(Real, RealChatTemplateTest,
                         ::testing::Values("deepseek_v3", "qwen3", "llama3_1"));

class FixtureModelChatTest : public ::testing::TestWithParam<std::string> {};

TEST_P(FixtureModelChatTest, TemplateReproducesReferencePromptIds) {
  const std::string dir = "tests/data/models/" + GetParam();
  Result<Tokenizer> tok = Tokenizer::load(dir);
  ASSERT_TRUE(tok.ok()) << tok.status().to_string();
  Result<ChatTemplate> tmpl = ChatTemplate::from_tokenizer(*tok);
  ASSERT_TRUE(tmpl.ok()) << tmpl.status().to_string();
  std::ifstream in(dir + "/reference.json");
  const ordered_json ref = ordered_json::parse(in);
  for (const ordered_json& chat : ref["chat"]) {
    ChatRenderOptions options;
    options.add_generation_prompt = true;
    Result<std::string> text = render_chat(*tmpl, chat["messages"], nullptr, options);
    ASSERT_TRUE(text.ok()) << text.status().to_string();
    EXPECT_EQ(*text, chat["prompt_text"].get<std::string>());
    Result<std::vector<int32_t>> ids = tok->encode(*text, false);
    ASSERT_TRUE(ids.ok());
    EXPECT_EQ(*ids, chat["prompt_ids"].get<std::vector<int32_t>>());
  }
}

INSTANTIATE_TEST_SUITE_P(Models, FixtureModelChatTest,
                         ::testing::Values("llama", "qwen2", "deepseek_v2", "deepseek_v2_grouped",
                                           "deepseek_v3"));

}  // namespace
}  // namespace fathom::tokenizer
