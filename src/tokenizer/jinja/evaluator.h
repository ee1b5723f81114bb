// Walks a parsed template: statements, expressions, scopes, loops and macros.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/template.h"

namespace fathom::tokenizer::jinja {

class Evaluator {
 public:
  explicit Evaluator(const RenderEnv& env);
  Status render(const Body& body, std::string& out);

 private:
  enum class Flow { kNormal, kBreak, kContinue };
  using Frame = std::unordered_map<std::string, Value>;

  Result<Flow> exec_body(const Body& body, std::string& out);
  Result<Flow> exec(const Node& node, std::string& out);
  Result<Flow> exec_for(const Node& node, std::string& out);
  Status exec_set(const Node& node);
  Result<Value> eval(const Expr& e);
  Result<Value> eval_binary(const Expr& e);
  Result<Value> call_value(const Value& fn, CallArgs& args, int line);
  Result<CallArgs> eval_args(const Expr& e, size_t first_child);
  Result<Value> apply_filter(const std::string& name, const Value& v, CallArgs& args);
  Value make_macro(const Node& node);

  Value lookup(const std::string& name) const;
  void assign(const std::string& name, Value v) { frames_.back()[name] = std::move(v); }
  Status assign_targets(const std::vector<std::string>& targets, const Value& v);

  void install_globals();

  const RenderEnv& env_;
  std::vector<Frame> frames_;
  BuiltinHooks hooks_;
  int depth_ = 0;  // macro recursion guard
};

}  // namespace fathom::tokenizer::jinja
