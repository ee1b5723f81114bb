// fathom's Jinja engine against Jinja2 itself: tests/data/tokenizers/jinja_cases.json holds
// feature probes and tool-calling chat templates (Llama 3.1, Qwen2.5, DeepSeek-R1) rendered by
// Jinja2 3.1 configured as transformers configures it (see make_jinja_cases.py).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tokenizer/jinja/template.h"

namespace fathom::tokenizer::jinja {
namespace {

using nlohmann::ordered_json;

// Parsed once per process: gtest calls this for every parameter and every test name.
const ordered_json& load_cases() {
  static const ordered_json kCases = [] {
    std::ifstream in("tests/data/tokenizers/jinja_cases.json");
    return ordered_json::parse(in);
  }();
  return kCases;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class JinjaReferenceTest : public ::testing::TestWithParam<size_t> {};

TEST_P(JinjaReferenceTest, MatchesJinja2) {
  const ordered_json& all = load_cases();
  const ordered_json& c = all["cases"][GetParam()];
  SCOPED_TRACE(c["name"].get<std::string>());
  std::string source;
  if (!c.contains("template_file")) {
    source = c["template"].get<std::string>();
  } else if (const std::string f = c["template_file"].get<std::string>();
             f.rfind("fixture:", 0) == 0) {
    // A real model's template, from the tokenizer fixture.
    std::ifstream in("tests/data/tokenizers/" + f.substr(8) + ".json");
    source = ordered_json::parse(in)["chat_template"].get<std::string>();
  } else {
    source = read_text("tests/tokenizer/templates/" + f);
  }
  ASSERT_FALSE(source.empty());
  RenderEnv env;
  env.now_unix_s = all["now_unix_s"].get<int64_t>();
  for (auto it = c["variables"].begin(); it != c["variables"].end(); ++it) {
    env.variables.emplace_back(it.key(), Value::from_json(it.value()));
  }
  Result<Template> tmpl = Template::parse(source);
  Result<std::string> out = tmpl.ok() ? tmpl->render(env) : Result<std::string>(tmpl.status());
  if (c.contains("rendered")) {
    ASSERT_TRUE(out.ok()) << out.status().to_string();
    EXPECT_EQ(*out, c["rendered"].get<std::string>());
    return;
  }
  ASSERT_FALSE(out.ok()) << "Jinja2 raised " << c["error"].get<std::string>()
                         << " but fathom rendered:\n"
                         << *out;
  if (c.contains("error_line")) {
    const std::string want = "line " + std::to_string(c["error_line"].get<int>()) + ":";
    EXPECT_NE(out.status().message().find(want), std::string::npos)
        << "Jinja2: " << c["error"].get<std::string>() << "\nfathom: " << out.status().message();
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, JinjaReferenceTest,
                         ::testing::Range<size_t>(0, load_cases()["cases"].size()),
                         [](const ::testing::TestParamInfo<size_t>& param_info) {
                           std::string name =
                               load_cases()["cases"][param_info.param]["name"].get<std::string>();
                           for (char& ch : name)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return name + "_" + std::to_string(param_info.param);
                         });

}  // namespace
}  // namespace fathom::tokenizer::jinja
