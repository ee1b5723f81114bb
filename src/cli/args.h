// A small flag parser for the subcommands: --name value, --name=value and boolean --flag.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"

namespace fathom::cli {

class Args {
 public:
  /// `value_flags` take a value; `bool_flags` do not. Unknown flags are an error.
  static Result<Args> parse(const std::vector<std::string>& argv,
                            const std::set<std::string>& value_flags,
                            const std::set<std::string>& bool_flags);

  bool has(const std::string& name) const { return values_.count(name) > 0; }
  std::optional<std::string> get(const std::string& name) const;
  std::string get_or(const std::string& name, const std::string& fallback) const;
  Result<std::string> required(const std::string& name) const;
  Result<int64_t> get_int(const std::string& name, int64_t fallback) const;
  Result<double> get_double(const std::string& name, double fallback) const;
  const std::vector<std::string>& positional() const { return positional_; }
  /// Every value of a repeatable flag, in order (get() gives the last).
  std::vector<std::string> get_all(const std::string& name) const;

 private:
  std::map<std::string, std::string> values_;
  std::map<std::string, std::vector<std::string>> all_values_;
  std::vector<std::string> positional_;
};

/// Parses "0,17,42" into ids; rejects empty items and non-numbers.
Result<std::vector<int32_t>> parse_id_list(const std::string& text);

}  // namespace fathom::cli
