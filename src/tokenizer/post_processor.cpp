#include "tokenizer/post_processor.h"

#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace fathom::tokenizer {

namespace {

using Json = nlohmann::json;

Status add_template(const Json& spec, PostProcessor& pp) {
  if (!spec.contains("single") || !spec["single"].is_array()) {
    return invalid_argument("post_processor TemplateProcessing: missing array \"single\"");
  }
  std::map<std::string, std::vector<int32_t>> special;
  if (spec.contains("special_tokens") && spec["special_tokens"].is_object()) {
    for (auto it = spec["special_tokens"].begin(); it != spec["special_tokens"].end(); ++it) {
      if (!it.value().contains("ids") || !it.value()["ids"].is_array()) {
        return invalid_argument("post_processor TemplateProcessing: special token \"" + it.key() +
                                "\" has no ids");
      }
      special[it.key()] = it.value()["ids"].get<std::vector<int32_t>>();
    }
  }
  bool seen_sequence = false;
  for (const Json& item : spec["single"]) {
    if (item.contains("Sequence")) {
      seen_sequence = true;
      continue;
    }
    if (!item.contains("SpecialToken") || !item["SpecialToken"].contains("id")) {
      return invalid_argument("post_processor TemplateProcessing: bad item in \"single\"");
    }
    const std::string name = item["SpecialToken"]["id"].get<std::string>();
    const auto it = special.find(name);
    if (it == special.end()) {
      return invalid_argument("post_processor TemplateProcessing: \"" + name +
                              "\" missing from special_tokens");
    }
    auto& dst = seen_sequence ? pp.suffix : pp.prefix;
    dst.insert(dst.end(), it->second.begin(), it->second.end());
  }
  return ok_status();
}

Status add_one(const Json& spec, PostProcessor& pp) {
  if (!spec.is_object() || !spec.contains("type") || !spec["type"].is_string()) {
    return invalid_argument("post_processor: expected an object with a string \"type\"");
  }
  const std::string type = spec["type"].get<std::string>();
  if (type == "ByteLevel") return ok_status();  // only trims offsets
  if (type == "TemplateProcessing") return add_template(spec, pp);
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    if (!spec.contains("cls") || !spec.contains("sep") || !spec["cls"].is_array() ||
        spec["cls"].size() != 2 || !spec["sep"].is_array() || spec["sep"].size() != 2) {
      return invalid_argument("post_processor " + type +
                              ": \"cls\" and \"sep\" must be [token, id]");
    }
    pp.prefix.push_back(spec["cls"][1].get<int32_t>());
    pp.suffix.insert(pp.suffix.begin(), spec["sep"][1].get<int32_t>());
    return ok_status();
  }
  if (type == "Sequence") {
    if (!spec.contains("processors") || !spec["processors"].is_array()) {
      return invalid_argument("post_processor Sequence: missing array \"processors\"");
    }
    for (const Json& child : spec["processors"]) FATHOM_RETURN_IF_ERROR(add_one(child, pp));
    return ok_status();
  }
  return unimplemented("post_processor type \"" + type + "\" is not supported");
}

}  // namespace

Result<PostProcessor> make_post_processor(const Json& spec) {
  PostProcessor pp;
  if (spec.is_null()) return pp;
  FATHOM_RETURN_IF_ERROR(add_one(spec, pp));
  return pp;
}

}  // namespace fathom::tokenizer
