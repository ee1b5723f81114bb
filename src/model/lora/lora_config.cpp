#include "model/lora/lora_config.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "json/json_fields.h"

namespace fathom::model::lora {

using Json = nlohmann::json;

struct TargetSpec::Pattern {
  pcre2_code* code = nullptr;
  ~Pattern() { pcre2_code_free(code); }
};

TargetSpec TargetSpec::names(std::vector<std::string> suffixes) {
  TargetSpec s;
  s.suffixes_ = std::move(suffixes);
  return s;
}

TargetSpec TargetSpec::all_linear() {
  TargetSpec s;
  s.all_ = true;
  return s;
}

Result<TargetSpec> TargetSpec::regex(const std::string& pattern) {
  // Python's re.fullmatch: the whole module name, so the pattern is wrapped and anchored.
  const std::string full = "(?:" + pattern + ")\\z";
  int err = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(full.data()), full.size(),
                                   PCRE2_ANCHORED | PCRE2_UTF, &err, &offset, nullptr);
  if (!code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof(msg));
    return invalid_argument("target_modules: regular expression '" + pattern +
                            "' does not compile: " + reinterpret_cast<const char*>(msg));
  }
  TargetSpec s;
  auto p = std::make_shared<Pattern>();
  p->code = code;
  s.pattern_ = std::move(p);
  s.suffixes_ = {pattern};
  return s;
}

bool TargetSpec::matches(std::string_view module) const {
  if (all_) return true;
  if (pattern_) {
    pcre2_match_data* md = pcre2_match_data_create_from_pattern(pattern_->code, nullptr);
    pcre2_match_context* mc = pcre2_match_context_create(nullptr);
    pcre2_set_match_limit(mc, 100000);  // a hostile pattern fails to match instead of spinning
    const int rc = pcre2_match(pattern_->code, reinterpret_cast<PCRE2_SPTR>(module.data()),
                               module.size(), 0, 0, md, mc);
    pcre2_match_context_free(mc);
    pcre2_match_data_free(md);
    return rc >= 0;
  }
  for (const std::string& s : suffixes_) {
    if (module == s) return true;
    if (module.size() > s.size() && module.ends_with(s) &&
        module[module.size() - s.size() - 1] == '.')
      return true;
  }
  return false;
}

std::string TargetSpec::describe() const {
  if (all_) return "all-linear";
  if (pattern_) return "regex '" + suffixes_.front() + "'";
  std::string out = "[";
  for (const std::string& s : suffixes_) out += (out.size() > 1 ? ", " : "") + s;
  return out + "]";
}

float LoraConfig::scale() const {
  const double r = static_cast<double>(rank);
  return static_cast<float>(use_rslora ? alpha / std::sqrt(r) : alpha / r);
}

namespace {

/// True for a setting left at its off value: null, false or empty.
bool is_unset(const Json& v) {
  return v.is_null() || (v.is_boolean() && !v.get<bool>()) ||
         ((v.is_object() || v.is_array() || v.is_string()) && v.empty());
}

}  // namespace

Result<LoraConfig> parse_lora_config(std::string_view text, const std::string& source) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return invalid_argument(source + ": not a JSON object (is this a PEFT adapter folder?)");
  std::vector<std::string> problems;
  LoraConfig c;

  if (auto v = json::get_string(j, "peft_type"); !v.ok()) {
    problems.push_back(v.status().message());
  } else if (*v && **v != "LORA") {
    problems.push_back("peft_type: '" + **v + "' is not LORA");
  }
  if (auto v = json::get_integer(j, "r"); !v.ok()) {
    problems.push_back(v.status().message());
  } else if (!*v || **v < 1 || **v > 4096) {
    problems.push_back("r: must be an integer in [1, 4096]");
  } else {
    c.rank = **v;
  }
  if (auto v = json::get_number(j, "lora_alpha"); !v.ok()) {
    problems.push_back(v.status().message());
  } else if (!*v || !std::isfinite(**v)) {
    problems.push_back("lora_alpha: must be a finite number");
  } else {
    c.alpha = **v;
  }
  if (auto v = json::get_bool(j, "use_rslora"); !v.ok()) {
    problems.push_back(v.status().message());
  } else {
    c.use_rslora = v->value_or(false);
  }
  if (auto v = json::get_string(j, "bias"); !v.ok()) {
    problems.push_back(v.status().message());
  } else if (*v && **v != "none") {
    problems.push_back("bias: '" + **v +
                       "' is not supported (only \"none\": adapters without bias terms)");
  }
  if (auto v = json::get_string(j, "base_model_name_or_path"); v.ok() && *v) c.base_model = **v;

  // Settings the unmerged forward cannot honour: refused rather than silently ignored.
  const std::pair<const char*, const char*> kUnsupported[] = {
      {"modules_to_save", "fully trained modules are not supported; only low-rank updates"},
      {"use_dora", "DoRA is not supported"},
      {"fan_in_fan_out", "Conv1D (fan_in_fan_out) layouts are not supported"},
      {"rank_pattern", "per-module ranks are not supported"},
      {"alpha_pattern", "per-module alphas are not supported"},
      {"layers_to_transform", "layer subsets are not supported; target modules by regex instead"},
  };
  for (const auto& [name, why] : kUnsupported) {
    auto it = j.find(name);
    if (it != j.end() && !is_unset(*it)) problems.push_back(std::string(name) + ": " + why);
  }

  auto t = j.find("target_modules");
  if (t == j.end() || t->is_null()) {
    problems.push_back("target_modules: missing");
  } else if (t->is_string()) {
    const std::string s = t->get<std::string>();
    if (s == "all-linear") {
      c.targets = TargetSpec::all_linear();
    } else if (auto spec = TargetSpec::regex(s); spec.ok()) {
      c.targets = std::move(*spec);
    } else {
      problems.push_back(spec.status().message());
    }
  } else if (t->is_array()) {
    std::vector<std::string> names;
    for (const Json& e : *t) {
      if (!e.is_string() || e.get<std::string>().empty()) {
        problems.push_back("target_modules: every entry must be a non-empty string");
        break;
      }
      names.push_back(e.get<std::string>());
    }
    if (names.empty()) problems.push_back("target_modules: empty list");
    c.targets = TargetSpec::names(std::move(names));
  } else {
    problems.push_back(
        "target_modules: must be a list of module names or a regular expression string");
  }

  if (!problems.empty()) {
    std::string msg = source + ": invalid LoRA adapter config:";
    for (const std::string& p : problems) msg += "\n  " + p;
    return invalid_argument(msg);
  }
  return c;
}

}  // namespace fathom::model::lora
