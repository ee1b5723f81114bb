#include "cli/args.h"

#include <charconv>
#include <stdexcept>

namespace fathom::cli {

Result<Args> Args::parse(const std::vector<std::string>& argv,
                         const std::set<std::string>& value_flags,
                         const std::set<std::string>& bool_flags) {
  Args out;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.rfind("--", 0) != 0) {
      out.positional_.push_back(a);
      continue;
    }
    std::string name = a.substr(2);
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (bool_flags.count(name)) {
      if (inline_value) return invalid_argument("flag --" + name + " takes no value");
      out.values_[name] = "true";
    } else if (value_flags.count(name)) {
      if (inline_value) {
        out.values_[name] = *inline_value;
      } else if (i + 1 < argv.size()) {
        out.values_[name] = argv[++i];
      } else {
        return invalid_argument("flag --" + name + " needs a value");
      }
      out.all_values_[name].push_back(out.values_[name]);
    } else {
      return invalid_argument("unknown flag --" + name);
    }
  }
  return out;
}

std::optional<std::string> Args::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> Args::get_all(const std::string& name) const {
  auto it = all_values_.find(name);
  return it == all_values_.end() ? std::vector<std::string>{} : it->second;
}

std::string Args::get_or(const std::string& name, const std::string& fallback) const {
  return get(name).value_or(fallback);
}

Result<std::string> Args::required(const std::string& name) const {
  auto v = get(name);
  if (!v) return invalid_argument("missing required flag --" + name);
  return *v;
}

Result<int64_t> Args::get_int(const std::string& name, int64_t fallback) const {
  auto v = get(name);
  if (!v) return fallback;
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || p != v->data() + v->size())
    return invalid_argument("--" + name + ": expected an integer, got '" + *v + "'");
  return out;
}

Result<double> Args::get_double(const std::string& name, double fallback) const {
  auto v = get(name);
  if (!v) return fallback;
  try {
    size_t used = 0;
    double d = std::stod(*v, &used);
    if (used != v->size()) throw std::invalid_argument("trailing");
    return d;
  } catch (const std::exception&) {
    return invalid_argument("--" + name + ": expected a number, got '" + *v + "'");
  }
}

Result<std::vector<int32_t>> parse_id_list(const std::string& text) {
  std::vector<int32_t> ids;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    int32_t v = 0;
    auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || ec != std::errc() || p != item.data() + item.size() || v < 0)
      return invalid_argument("--ids: '" + item + "' is not a token id (want e.g. 0,17,42)");
    ids.push_back(v);
    start = end + 1;
  }
  return ids;
}

}  // namespace fathom::cli
