// Jinja's built-in filters and tests, Python's str/dict/list methods, and the globals
// transformers gives chat templates (range, dict, namespace, raise_exception, strftime_now).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "tokenizer/jinja/value.h"

namespace fathom::tokenizer::jinja {

/// Applies filter `name` to `value` (args.positional excludes the value itself).
/// `apply_test` lets select/reject call tests; `apply_filter` lets map call filters.
struct BuiltinHooks {
  std::function<Result<bool>(const std::string& test, const Value& v, CallArgs& args)> apply_test;
  std::function<Result<Value>(const std::string& filter, const Value& v, CallArgs& args)>
      apply_filter;
};
Result<Value> call_filter(const std::string& name, const Value& value, CallArgs& args,
                          const BuiltinHooks& hooks);
Result<bool> call_test(const std::string& name, const Value& value, CallArgs& args);

/// obj.name: a bound method for str/dict/list methods, a dict key, or undefined.
/// Errors only for attribute access on undefined.
Result<Value> get_attribute(const Value& obj, const std::string& name);
/// obj[key] with Jinja's fallback to attributes.
Result<Value> get_item(const Value& obj, const Value& key);
/// obj[start:stop:step] on lists and strings.
Result<Value> get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step);

/// Elements of an iterable (list items, dict keys, string characters); error for others.
Result<Array> iterate(const Value& v);
/// len(v).
Result<int64_t> length_of(const Value& v);

/// Python's "%" string formatting (str % args), for %s %d %i %f %r %x %%.
Result<std::string> percent_format(const std::string& fmt, const Value& args);

/// Splits UTF-8 text into code points (as strings).
std::vector<std::string> utf8_chars(std::string_view s);

/// Python str.strip / lstrip / rstrip.
std::string py_strip(std::string_view s, const std::optional<std::string>& chars, bool left,
                     bool right);

}  // namespace fathom::tokenizer::jinja
