// Typed reads of one YAML mapping for the plan's input files (workload, catalogue), recording
// every problem with its dotted path instead of stopping at the first. yaml-cpp throws on
// wrong types; this is the one place those exceptions are caught.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "plan/decimal.h"

namespace fathom::plan {

class YamlFields {
 public:
  /// `allowed` lists the keys the mapping may have; any other key is a problem (typos are
  /// caught, not ignored).
  YamlFields(YAML::Node node, std::string path, std::vector<std::string>& problems,
             std::set<std::string> allowed);

  bool has(const char* key) const;
  YAML::Node child(const char* key) const;
  std::string path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  void problem(const std::string& key, const std::string& what);

  std::optional<std::string> text(const char* key, bool required = false);
  /// Decimals are written as strings or plain YAML numbers ("0.1" or 0.1); the text is parsed
  /// exactly, never through a double.
  std::optional<Decimal> decimal(const char* key, bool required = false, Decimal min = Decimal(),
                                 std::optional<Decimal> max = std::nullopt);
  std::optional<double> number(const char* key, bool required, double min, double max);
  std::optional<int64_t> integer(const char* key, bool required, int64_t min, int64_t max);
  std::optional<bool> boolean(const char* key);
  /// One of `choices`.
  std::optional<std::string> choice(const char* key, const std::vector<std::string>& choices);

 private:
  template <typename T>
  std::optional<T> ranged(const char* key, bool required, T min, T max, const char* kind);

  YAML::Node node_;
  std::string path_;
  std::vector<std::string>& problems_;
  bool is_map_ = false;
};

/// "a; b; c" of every problem, prefixed with the file name, as one InvalidArgument.
Status problems_status(const std::string& source, const std::vector<std::string>& problems);

/// Loads a YAML document from text and reads it with `read(root, problems)`; a syntax error
/// names the line, and every problem `read` records is reported at once.
template <typename T, typename Reader>
Result<T> parse_yaml_document(const std::string& text, const std::string& source, Reader read) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return invalid_argument(source + ": not valid YAML: " + e.what());
  }
  std::vector<std::string> problems;
  T value;
  try {
    value = read(root, problems);
  } catch (const YAML::Exception& e) {
    problems.push_back(std::string("unreadable YAML structure: ") + e.what());
  }
  FATHOM_RETURN_IF_ERROR(problems_status(source, problems));
  return value;
}

}  // namespace fathom::plan
