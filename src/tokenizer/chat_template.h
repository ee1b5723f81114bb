// Chat templates: a model's Jinja chat_template (from tokenizer_config.json) rendered the way
// transformers' apply_chat_template does: messages, tools, add_generation_prompt, the special
// tokens (bos_token, eos_token, ...) and any extra keyword arguments as template variables.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "base/status.h"
#include "tokenizer/jinja/template.h"

namespace fathom::tokenizer {

class Tokenizer;

class ChatTemplate {
 public:
  /// The tokenizer's default chat template, or the named one (chat_template list form).
  static Result<ChatTemplate> from_tokenizer(const Tokenizer& tokenizer,
                                             const std::string& name = "");
  /// A template from source. `special_tokens`: {"bos_token": "...", ...} passed to renders.
  static Result<ChatTemplate> parse(const std::string& source,
                                    nlohmann::ordered_json special_tokens = {});

  const jinja::Template& compiled() const { return template_; }
  const nlohmann::ordered_json& special_tokens() const { return special_tokens_; }
  const std::string& source() const { return source_; }

 private:
  jinja::Template template_;
  nlohmann::ordered_json special_tokens_;
  std::string source_;
};

struct ChatRenderOptions {
  bool add_generation_prompt = false;
  /// Extra template variables (enable_thinking, date_string, ...); an object or null.
  nlohmann::ordered_json extra_kwargs;
  /// strftime_now() time (Unix seconds, UTC); nullopt: the wall clock.
  std::optional<int64_t> now_unix_s;
};

/// Renders `messages` (a list of {role, content, ...}) with `tools` (a list of tool
/// schemas, or null for none). Errors read "chat template line N: ...".
Result<std::string> render_chat(const ChatTemplate& chat_template,
                                const nlohmann::ordered_json& messages,
                                const nlohmann::ordered_json& tools,
                                const ChatRenderOptions& options);
/// Same with nlohmann::json (its objects iterate keys sorted, which tojson will show).
Result<std::string> render_chat(const ChatTemplate& chat_template, const nlohmann::json& messages,
                                const nlohmann::json& tools, bool add_generation_prompt,
                                const nlohmann::json& extra_kwargs = nullptr);

}  // namespace fathom::tokenizer
