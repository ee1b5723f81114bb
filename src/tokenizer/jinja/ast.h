// The syntax tree of a parsed Jinja template. Every node keeps its source line for errors.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja/value.h"

namespace fathom::tokenizer::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    kLiteral,  // literal
    kName,     // name
    kList,     // children: items
    kTuple,    // children: items
    kDict,     // children: k0, v0, k1, v1, ...
    kGetAttr,  // children[0].name
    kGetItem,  // children[0][children[1]]
    kSlice,    // children[0][c1:c2:c3], missing parts are nullptr
    kCall,     // children[0](children[1..], kwargs)
    kFilter,   // children[0] | name(children[1..], kwargs)
    kTest,     // children[0] is [not] name(children[1..])
    kUnary,    // name in {"-", "+", "not"}; children[0]
    kBinary,   // name is the operator; children[0], children[1]
    kAnd,
    kOr,
    kCondition,  // children: then, condition, else (else may be nullptr)
    kCompare,    // children[0] ops[0] children[1] ops[1] ... (Python chained comparison)
  };
  Kind kind;
  int line = 0;
  Value literal;
  std::string name;
  bool negated = false;  // kTest: "is not"
  std::vector<ExprPtr> children;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;  // kCompare
};

struct Node;
using NodePtr = std::unique_ptr<Node>;
using Body = std::vector<NodePtr>;

struct Node {
  enum class Kind {
    kText,         // text
    kOutput,       // {{ expr }}
    kIf,           // branches (condition nullptr for else)
    kFor,          // targets in expr [if filter]: body [else else_body]
    kSet,          // targets (or target_attr on targets[0]) = expr
    kSetBlock,     // {% set name %}body{% endset %}
    kMacro,        // name(params with defaults): body
    kCallBlock,    // {% call macro(args) %}body{% endcall %}: expr is the call
    kFilterBlock,  // {% filter name(args) %}body{% endfilter %}: expr is a kFilter on a placeholder
    kBreak,
    kContinue,
  };
  Kind kind;
  int line = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr filter;  // kFor: the "if" clause
  std::vector<std::string> targets;
  std::string target_attr;  // kSet: "ns.attr" assigns attr of targets[0]
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body body;
  Body else_body;
  std::vector<std::pair<std::string, ExprPtr>> params;  // kMacro: name, default (may be nullptr)
};

}  // namespace fathom::tokenizer::jinja
