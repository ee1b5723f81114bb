// The values a chat template computes with, following Python/Jinja2 semantics: undefined, None,
// bool, int, float, str, list, dict (insertion-ordered), callables. Lists and dicts are shared
// by reference, as in Python.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "base/status.h"

namespace fathom::tokenizer::jinja {

class Value;
using Array = std::vector<Value>;
using ArrayPtr = std::shared_ptr<Array>;

/// An insertion-ordered dict with string keys (what JSON messages and tools hold).
class Object {
 public:
  const Value* find(std::string_view key) const;
  Value* find(std::string_view key);
  void set(std::string key, Value value);
  const std::vector<std::pair<std::string, Value>>& items() const { return items_; }
  size_t size() const { return items_.size(); }
  bool is_namespace = false;  // Jinja namespace(): attributes may be assigned

 private:
  std::vector<std::pair<std::string, Value>> items_;
};
using ObjectPtr = std::shared_ptr<Object>;

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
  const Value* get_kwarg(std::string_view name) const;
};

using NativeFn = std::function<Result<Value>(CallArgs& args)>;
struct Callable {
  std::string name;
  NativeFn fn;
};
using CallablePtr = std::shared_ptr<const Callable>;

struct Undefined {
  std::string name;  // what was looked up, for error messages
};
struct None {};

class Value {
 public:
  using Storage = std::variant<Undefined, None, bool, int64_t, double, std::string, ArrayPtr,
                               ObjectPtr, CallablePtr>;

  Value() : v_(Undefined{}) {}
  Value(Undefined u) : v_(std::move(u)) {}       // NOLINT
  Value(None) : v_(None{}) {}                    // NOLINT
  Value(bool b) : v_(b) {}                       // NOLINT
  Value(int64_t i) : v_(i) {}                    // NOLINT
  Value(int i) : v_(static_cast<int64_t>(i)) {}  // NOLINT
  Value(double d) : v_(d) {}                     // NOLINT
  Value(std::string s) : v_(std::move(s)) {}     // NOLINT
  Value(const char* s) : v_(std::string(s)) {}   // NOLINT
  Value(ArrayPtr a) : v_(std::move(a)) {}        // NOLINT
  Value(ObjectPtr o) : v_(std::move(o)) {}       // NOLINT
  Value(CallablePtr c) : v_(std::move(c)) {}     // NOLINT

  static Value array(Array items = {}) { return Value(std::make_shared<Array>(std::move(items))); }
  /// A Python tuple: a list that prints as "(a, b)".
  static Value tuple(Array items) {
    Value v = array(std::move(items));
    v.tuple_ = true;
    return v;
  }
  bool is_tuple() const { return tuple_ && is_array(); }
  static Value object() { return Value(std::make_shared<Object>()); }
  static Value function(std::string name, NativeFn fn) {
    return Value(std::make_shared<const Callable>(Callable{std::move(name), std::move(fn)}));
  }
  static Value from_json(const nlohmann::ordered_json& j);
  static Value from_json(const nlohmann::json& j);

  bool is_undefined() const { return std::holds_alternative<Undefined>(v_); }
  bool is_none() const { return std::holds_alternative<None>(v_); }
  bool is_bool() const { return std::holds_alternative<bool>(v_); }
  bool is_int() const { return std::holds_alternative<int64_t>(v_); }
  bool is_float() const { return std::holds_alternative<double>(v_); }
  bool is_number() const {
    return is_int() || is_float();
  }  // bools excluded (Jinja's "number" test differs)
  bool is_string() const { return std::holds_alternative<std::string>(v_); }
  bool is_array() const { return std::holds_alternative<ArrayPtr>(v_); }
  bool is_object() const { return std::holds_alternative<ObjectPtr>(v_); }
  bool is_callable() const { return std::holds_alternative<CallablePtr>(v_); }

  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  double as_double() const {
    return is_int() ? static_cast<double>(as_int()) : is_bool() ? as_bool() : std::get<double>(v_);
  }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const ArrayPtr& as_array() const { return std::get<ArrayPtr>(v_); }
  const ObjectPtr& as_object() const { return std::get<ObjectPtr>(v_); }
  const CallablePtr& as_callable() const { return std::get<CallablePtr>(v_); }
  const Undefined& as_undefined() const { return std::get<Undefined>(v_); }

  /// Python truthiness.
  bool truthy() const;
  /// Python type name ("str", "NoneType", "dict", ...), for error messages.
  std::string type_name() const;
  /// str(value) as Jinja prints it ("None", "True", "['a', 1]", "" for undefined).
  std::string to_str() const;
  /// repr(value).
  std::string repr() const;

  const Storage& storage() const { return v_; }

 private:
  Storage v_;
  bool tuple_ = false;
};

/// Python ==.
bool values_equal(const Value& a, const Value& b);
/// Python <, <= etc.: -1/0/1, or an error for unorderable types.
Result<int> compare_values(const Value& a, const Value& b);

struct JsonFormat {
  std::optional<int> indent;   // nullopt: one line
  std::string item_separator;  // default ", " (or "," with indent)
  std::string key_separator = ": ";
  bool sort_keys = false;
};
/// json.dumps(value, ensure_ascii=False, ...) as transformers' tojson filter does.
Result<std::string> to_json(const Value& v, const JsonFormat& format);

/// Python repr() of a float ("1.0", "0.1", "1e+20").
std::string python_float_repr(double d);

}  // namespace fathom::tokenizer::jinja
