#include "plan/yaml_fields.h"

namespace fathom::plan {

YamlFields::YamlFields(YAML::Node node, std::string where, std::vector<std::string>& problems,
                       std::set<std::string> allowed)
    : node_(std::move(node)), path_(std::move(where)), problems_(problems) {
  if (!node_.IsDefined() || node_.IsNull()) return;
  if (!node_.IsMap()) {
    problems_.push_back((path_.empty() ? std::string("the document") : path_) +
                        ": must be a mapping");
    return;
  }
  is_map_ = true;
  for (const auto& kv : node_) {
    if (!kv.first.IsScalar()) {
      problems_.push_back(path("?") + ": a key must be a plain name");
      continue;
    }
    const std::string key = kv.first.Scalar();
    if (!allowed.count(key)) problems_.push_back(path(key) + ": unknown field");
  }
}

bool YamlFields::has(const char* key) const {
  return is_map_ && node_[key] && !node_[key].IsNull();
}

YAML::Node YamlFields::child(const char* key) const { return has(key) ? node_[key] : YAML::Node(); }

void YamlFields::problem(const std::string& key, const std::string& what) {
  problems_.push_back(path(key) + ": " + what);
}

std::optional<std::string> YamlFields::text(const char* key, bool required) {
  if (!has(key)) {
    if (required) problem(key, "is required");
    return std::nullopt;
  }
  const YAML::Node v = node_[key];
  if (!v.IsScalar()) {
    problem(key, "must be a string");
    return std::nullopt;
  }
  return v.Scalar();
}

std::optional<Decimal> YamlFields::decimal(const char* key, bool required, Decimal min,
                                           std::optional<Decimal> max) {
  const std::optional<std::string> t = text(key, required);
  if (!t) return std::nullopt;
  Result<Decimal> d = Decimal::parse(*t, path(key));
  if (!d.ok()) {
    problems_.push_back(d.status().message());
    return std::nullopt;
  }
  if (*d < min || (max && *d > *max)) {
    problem(key, "must be in " + min.exact_string() + ".." + (max ? max->exact_string() : "") +
                     ", got " + *t);
    return std::nullopt;
  }
  return *d;
}

template <typename T>
std::optional<T> YamlFields::ranged(const char* key, bool required, T min, T max,
                                    const char* kind) {
  const std::optional<std::string> t = text(key, required);
  if (!t) return std::nullopt;
  T v{};
  try {
    v = node_[key].as<T>();
  } catch (const YAML::Exception&) {
    problem(key, std::string("must be ") + kind + ", got '" + *t + "'");
    return std::nullopt;
  }
  if (!(v >= min && v <= max)) {  // also refuses NaN
    problem(key, "must be in " + std::to_string(min) + ".." + std::to_string(max) + ", got " + *t);
    return std::nullopt;
  }
  return v;
}

std::optional<double> YamlFields::number(const char* key, bool required, double min, double max) {
  return ranged<double>(key, required, min, max, "a number");
}

std::optional<int64_t> YamlFields::integer(const char* key, bool required, int64_t min,
                                           int64_t max) {
  return ranged<int64_t>(key, required, min, max, "an integer");
}

std::optional<bool> YamlFields::boolean(const char* key) {
  const std::optional<std::string> t = text(key);
  if (!t) return std::nullopt;
  try {
    return node_[key].as<bool>();
  } catch (const YAML::Exception&) {
    problem(key, "must be true or false, got '" + *t + "'");
    return std::nullopt;
  }
}

std::optional<std::string> YamlFields::choice(const char* key,
                                              const std::vector<std::string>& choices) {
  const std::optional<std::string> t = text(key);
  if (!t) return std::nullopt;
  for (const std::string& c : choices)
    if (*t == c) return t;
  std::string all;
  for (const std::string& c : choices) all += (all.empty() ? "" : ", ") + c;
  problem(key, "must be one of " + all + ", got '" + *t + "'");
  return std::nullopt;
}

Status problems_status(const std::string& source, const std::vector<std::string>& problems) {
  if (problems.empty()) return ok_status();
  std::string msg = source + ": ";
  for (size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : "") + problems[i];
  return invalid_argument(msg);
}

}  // namespace fathom::plan
