#include "tokenizer/tokenizer_config.h"

#include <nlohmann/json.hpp>

namespace fathom::tokenizer {

namespace {

using Json = nlohmann::json;

// A special token is a string or an AddedToken object {"content": ...}; null means none.
Result<std::optional<std::string>> token_field(const Json& config, const char* key) {
  if (!config.contains(key) || config[key].is_null()) return std::optional<std::string>();
  const Json& v = config[key];
  if (v.is_string()) return std::optional<std::string>(v.get<std::string>());
  if (v.is_object() && v.contains("content") && v["content"].is_string()) {
    return std::optional<std::string>(v["content"].get<std::string>());
  }
  return invalid_argument(std::string("tokenizer_config.json: \"") + key +
                          "\" must be a string or an object with a string \"content\"");
}

Result<std::optional<bool>> bool_field(const Json& config, const char* key) {
  if (!config.contains(key) || config[key].is_null()) return std::optional<bool>();
  if (!config[key].is_boolean()) {
    return invalid_argument(std::string("tokenizer_config.json: \"") + key +
                            "\" must be a boolean");
  }
  return std::optional<bool>(config[key].get<bool>());
}

}  // namespace

Result<TokenizerConfig> parse_tokenizer_config(const Json& config) {
  TokenizerConfig c;
  if (!config.is_object()) return invalid_argument("tokenizer_config.json: expected a JSON object");
  FATHOM_ASSIGN_OR_RETURN(c.bos_token, token_field(config, "bos_token"));
  FATHOM_ASSIGN_OR_RETURN(c.eos_token, token_field(config, "eos_token"));
  FATHOM_ASSIGN_OR_RETURN(c.pad_token, token_field(config, "pad_token"));
  FATHOM_ASSIGN_OR_RETURN(c.unk_token, token_field(config, "unk_token"));
  FATHOM_ASSIGN_OR_RETURN(c.add_bos_token, bool_field(config, "add_bos_token"));
  FATHOM_ASSIGN_OR_RETURN(c.add_eos_token, bool_field(config, "add_eos_token"));
  if (config.contains("additional_special_tokens") &&
      config["additional_special_tokens"].is_array()) {
    for (const Json& t : config["additional_special_tokens"]) {
      if (t.is_string()) {
        c.additional_special_tokens.push_back(t.get<std::string>());
      } else if (t.is_object() && t.contains("content") && t["content"].is_string()) {
        c.additional_special_tokens.push_back(t["content"].get<std::string>());
      }
    }
  }
  if (config.contains("chat_template") && !config["chat_template"].is_null()) {
    const Json& ct = config["chat_template"];
    if (ct.is_string()) {
      c.chat_template = ct.get<std::string>();
    } else if (ct.is_array()) {
      for (size_t i = 0; i < ct.size(); ++i) {
        const Json& item = ct[i];
        if (!item.is_object() || !item.contains("name") || !item["name"].is_string() ||
            !item.contains("template") || !item["template"].is_string()) {
          return invalid_argument("tokenizer_config.json: chat_template[" + std::to_string(i) +
                                  "] must be {\"name\": string, \"template\": string}");
        }
        c.named_chat_templates[item["name"].get<std::string>()] =
            item["template"].get<std::string>();
      }
      const auto it = c.named_chat_templates.find("default");
      if (it != c.named_chat_templates.end()) c.chat_template = it->second;
    } else {
      return invalid_argument(
          "tokenizer_config.json: \"chat_template\" must be a string or a list of {name, "
          "template}");
    }
  }
  return c;
}

}  // namespace fathom::tokenizer
