#include "tokenizer/chat_template.h"

#include "tokenizer/tokenizer.h"

namespace fathom::tokenizer {

Result<ChatTemplate> ChatTemplate::parse(const std::string& source,
                                         nlohmann::ordered_json special_tokens) {
  Result<jinja::Template> t = jinja::Template::parse(source);
  if (!t.ok()) return Status(t.status().code(), "chat template " + t.status().message());
  ChatTemplate ct;
  ct.template_ = std::move(*t);
  ct.special_tokens_ = std::move(special_tokens);
  ct.source_ = source;
  return ct;
}

Result<ChatTemplate> ChatTemplate::from_tokenizer(const Tokenizer& tokenizer,
                                                  const std::string& name) {
  const TokenizerConfig& cfg = tokenizer.config();
  std::string source = cfg.chat_template;
  if (!name.empty()) {
    const auto it = cfg.named_chat_templates.find(name);
    if (it == cfg.named_chat_templates.end())
      return not_found("no chat template named \"" + name + "\"");
    source = it->second;
  }
  if (source.empty()) return not_found("tokenizer_config.json has no chat_template");
  nlohmann::ordered_json special = nlohmann::ordered_json::object();
  if (cfg.bos_token) special["bos_token"] = *cfg.bos_token;
  if (cfg.eos_token) special["eos_token"] = *cfg.eos_token;
  if (cfg.unk_token) special["unk_token"] = *cfg.unk_token;
  if (cfg.pad_token) special["pad_token"] = *cfg.pad_token;
  if (!cfg.additional_special_tokens.empty())
    special["additional_special_tokens"] = cfg.additional_special_tokens;
  return parse(source, std::move(special));
}

Result<std::string> render_chat(const ChatTemplate& chat_template,
                                const nlohmann::ordered_json& messages,
                                const nlohmann::ordered_json& tools,
                                const ChatRenderOptions& options) {
  if (!messages.is_array()) return invalid_argument("chat messages must be a JSON list");
  for (size_t i = 0; i < messages.size(); ++i) {
    if (!messages[i].is_object())
      return invalid_argument("chat message " + std::to_string(i) + " is not an object");
  }
  if (!tools.is_null() && !tools.is_array())
    return invalid_argument("chat tools must be a JSON list or null");
  jinja::RenderEnv env;
  env.now_unix_s = options.now_unix_s;
  const nlohmann::ordered_json& special = chat_template.special_tokens();
  if (special.is_object()) {
    for (auto it = special.begin(); it != special.end(); ++it) {
      env.variables.emplace_back(it.key(), jinja::Value::from_json(it.value()));
    }
  }
  env.variables.emplace_back("messages", jinja::Value::from_json(messages));
  // As transformers: no tools is None; an empty list stays a list ("tools is not none" holds).
  env.variables.emplace_back(
      "tools", tools.is_null() ? jinja::Value(jinja::None{}) : jinja::Value::from_json(tools));
  env.variables.emplace_back("documents", jinja::Value(jinja::None{}));
  env.variables.emplace_back("add_generation_prompt", jinja::Value(options.add_generation_prompt));
  if (options.extra_kwargs.is_object()) {
    for (auto it = options.extra_kwargs.begin(); it != options.extra_kwargs.end(); ++it) {
      env.variables.emplace_back(it.key(), jinja::Value::from_json(it.value()));
    }
  } else if (!options.extra_kwargs.is_null()) {
    return invalid_argument("chat template kwargs must be a JSON object");
  }
  Result<std::string> out = chat_template.compiled().render(env);
  if (!out.ok()) return Status(out.status().code(), "chat template " + out.status().message());
  return out;
}

Result<std::string> render_chat(const ChatTemplate& chat_template, const nlohmann::json& messages,
                                const nlohmann::json& tools, bool add_generation_prompt,
                                const nlohmann::json& extra_kwargs) {
  ChatRenderOptions options;
  options.add_generation_prompt = add_generation_prompt;
  options.extra_kwargs = nlohmann::ordered_json::parse(extra_kwargs.dump());
  return render_chat(chat_template, nlohmann::ordered_json::parse(messages.dump()),
                     nlohmann::ordered_json::parse(tools.dump()), options);
}

}  // namespace fathom::tokenizer
