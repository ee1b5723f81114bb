// Typed reads of one YAML mapping for the gateway's config parsers: every problem is recorded
// with its field path ("pools.local.upstreams[0].url: ..."), never thrown.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace fathom::gateway {

// The longest duration a config may give (a year): far beyond any sensible timeout, and small
// enough to convert to nanoseconds and add to a clock reading without overflowing.
inline constexpr int64_t kMaxDurationMs = 365LL * 24 * 3600 * 1000;

// A mapping's key as text, or nullopt and a problem when the key is itself a sequence or a
// mapping ("? [a, b]: ..." or "{a: 1}: ..."), on which as<std::string>() throws.
inline std::optional<std::string> key_text(const YAML::Node& key, const std::string& path,
                                           std::vector<std::string>& problems) {
  if (key.IsSequence() || key.IsMap()) {
    problems.push_back((path.empty() ? "" : path + ": ") + "a key must be a plain name (got '" +
                       YAML::Dump(key) + "')");
    return std::nullopt;
  }
  return key.as<std::string>();
}

// Reads typed fields of one YAML map and records every problem with its path.
class Fields {
 public:
  Fields(const YAML::Node& node, std::string path, std::vector<std::string>& problems)
      : node_(node), path_(std::move(path)), problems_(problems) {
    if (node_.IsDefined() && !node_.IsMap() && !node_.IsNull()) problem("", "must be a mapping");
  }

  template <typename T>
  void get(const char* key, T& out) {
    const YAML::Node v = is_map() ? node_[key] : YAML::Node();
    if (!v || v.IsNull()) return;
    try {
      out = v.as<T>();
    } catch (const YAML::Exception&) {
      problem(key, "has the wrong type (got '" + YAML::Dump(v) + "')");
    }
  }
  void duration_ms(const char* key, int64_t& out) {
    get(key, out);
    if (out < 0 || out > kMaxDurationMs)
      problem(key, "must be in 0.." + std::to_string(kMaxDurationMs) + " (milliseconds, a year)");
  }
  void positive(const char* key, int64_t& out) {
    get(key, out);
    if (out <= 0) problem(key, "must be positive");
  }
  YAML::Node child(const char* key) const { return is_map() ? node_[key] : YAML::Node(); }
  std::string path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  void problem(const std::string& key, const std::string& what) {
    const std::string p = key.empty() ? path_ : path(key);
    problems_.push_back((p.empty() ? "" : p + ": ") + what);
  }
  void reject_unknown(const std::set<std::string>& known) {
    if (!is_map()) return;
    for (const auto& kv : node_) {
      const std::optional<std::string> k = key_text(kv.first, path_, problems_);
      if (k && !known.count(*k)) problem(*k, "is not a known field");
    }
  }

 private:
  // A missing key is an invalid ("zombie") node in yaml-cpp: only IsDefined() is safe on it.
  bool is_map() const { return node_.IsDefined() && node_.IsMap(); }
  const YAML::Node node_;
  std::string path_;
  std::vector<std::string>& problems_;
};

}  // namespace fathom::gateway
