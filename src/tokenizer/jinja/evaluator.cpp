#include "tokenizer/jinja/evaluator.h"

#include <cmath>
#include <ctime>

#include "tokenizer/jinja/lexer.h"
#include "tokenizer/jinja/parser.h"

namespace fathom::tokenizer::jinja {

namespace {

constexpr int kMaxMacroDepth = 64;
constexpr size_t kMaxOutputBytes = size_t{1} << 28;  // 256 MiB: a runaway template, not a prompt

bool has_line(const Status& s) { return s.message().rfind("line ", 0) == 0; }

Status at_line(const Status& s, int line) {
  if (has_line(s)) return s;
  return Status(s.code(), "line " + std::to_string(line) + ": " + s.message());
}

Status fail(int line, const std::string& msg) {
  return invalid_argument("line " + std::to_string(line) + ": " + msg);
}

Result<Value> arithmetic(const std::string& op, const Value& a, const Value& b) {
  const bool a_num = a.is_number() || a.is_bool();
  const bool b_num = b.is_number() || b.is_bool();
  auto type_error = [&]() {
    return invalid_argument("unsupported operand type(s) for " + op + ": '" + a.type_name() +
                            "' and '" + b.type_name() + "'");
  };
  if (a.is_undefined() || b.is_undefined()) {
    const Value& u = a.is_undefined() ? a : b;
    const std::string& what = u.as_undefined().name;
    return invalid_argument("'" + (what.empty() ? std::string("undefined") : what) +
                            "' is undefined (operand of " + op + ")");
  }
  if (op == "+") {
    if (a.is_string() && b.is_string()) return Value(a.as_string() + b.as_string());
    if (a.is_array() && b.is_array()) {
      Array out = *a.as_array();
      out.insert(out.end(), b.as_array()->begin(), b.as_array()->end());
      return Value::array(std::move(out));
    }
    if (a.is_string() || b.is_string()) {
      if (a.is_string())
        return invalid_argument("can only concatenate str (not \"" + b.type_name() + "\") to str");
      return type_error();
    }
  }
  if (op == "*" && ((a.is_string() && (b.is_int() || b.is_bool())) ||
                    (b.is_string() && (a.is_int() || a.is_bool())))) {
    const std::string& s = a.is_string() ? a.as_string() : b.as_string();
    const int64_t n = static_cast<int64_t>(a.is_string() ? b.as_double() : a.as_double());
    if (n > 0 && s.size() * static_cast<uint64_t>(n) > kMaxOutputBytes) {
      return invalid_argument("string repetition result exceeds 256 MiB");
    }
    std::string out;
    for (int64_t i = 0; i < n; ++i) out += s;
    return Value(out);
  }
  if (op == "%" && a.is_string()) {
    FATHOM_ASSIGN_OR_RETURN(std::string s, percent_format(a.as_string(), b));
    return Value(s);
  }
  if (!a_num || !b_num) return type_error();
  const bool ints = (a.is_int() || a.is_bool()) && (b.is_int() || b.is_bool());
  const double x = a.as_double();
  const double y = b.as_double();
  const int64_t i = ints ? static_cast<int64_t>(x) : 0;
  const int64_t j = ints ? static_cast<int64_t>(y) : 0;
  if (op == "+") return ints ? Value(i + j) : Value(x + y);
  if (op == "-") return ints ? Value(i - j) : Value(x - y);
  if (op == "*") return ints ? Value(i * j) : Value(x * y);
  if (op == "/") {
    if (y == 0) return invalid_argument("division by zero");
    return Value(x / y);
  }
  if (op == "//") {
    if (y == 0) return invalid_argument("integer division or modulo by zero");
    if (ints) {
      int64_t q = i / j;
      if ((i % j != 0) && ((i < 0) != (j < 0))) --q;
      return Value(q);
    }
    return Value(std::floor(x / y));
  }
  if (op == "%") {
    if (y == 0) return invalid_argument("integer division or modulo by zero");
    if (ints) {
      int64_t r = i % j;
      if (r != 0 && ((r < 0) != (j < 0))) r += j;
      return Value(r);
    }
    double r = std::fmod(x, y);
    if (r != 0 && ((r < 0) != (y < 0))) r += y;
    return Value(r);
  }
  if (op == "**") {
    if (ints && j >= 0) {
      int64_t r = 1;
      for (int64_t k = 0; k < j; ++k) r *= i;
      return Value(r);
    }
    return Value(std::pow(x, y));
  }
  return invalid_argument("unknown operator " + op);
}

Result<bool> contains(const Value& container, const Value& item) {
  if (container.is_string()) {
    if (!item.is_string()) {
      return invalid_argument("'in <string>' requires string as left operand, not " +
                              item.type_name());
    }
    return container.as_string().find(item.as_string()) != std::string::npos;
  }
  if (container.is_array()) {
    for (const Value& v : *container.as_array())
      if (values_equal(v, item)) return true;
    return false;
  }
  if (container.is_object())
    return item.is_string() && container.as_object()->find(item.as_string()) != nullptr;
  if (container.is_undefined()) return false;
  return invalid_argument("argument of type '" + container.type_name() + "' is not iterable");
}

Result<bool> compare_op(const std::string& op, const Value& a, const Value& b) {
  if (op == "==") return values_equal(a, b);
  if (op == "!=") return !values_equal(a, b);
  if (op == "in" || op == "not in") {
    FATHOM_ASSIGN_OR_RETURN(bool found, contains(b, a));
    return op == "in" ? found : !found;
  }
  FATHOM_ASSIGN_OR_RETURN(int c, compare_values(a, b));
  if (op == "<") return c < 0;
  if (op == "<=") return c <= 0;
  if (op == ">") return c > 0;
  return c >= 0;
}

std::string strftime_utc(const std::string& fmt, int64_t unix_s) {
  const std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[256];
  const size_t n = std::strftime(buf, sizeof(buf), fmt.c_str(), &tm);
  return std::string(buf, n);
}

}  // namespace

Evaluator::Evaluator(const RenderEnv& env) : env_(env) {
  frames_.emplace_back();
  install_globals();
  frames_.emplace_back();
  for (const auto& [k, v] : env_.variables) frames_.back()[k] = v;
  hooks_.apply_test = [](const std::string& test, const Value& v, CallArgs& args) {
    return call_test(test, v, args);
  };
  hooks_.apply_filter = [this](const std::string& filter, const Value& v, CallArgs& args) {
    return apply_filter(filter, v, args);
  };
}

void Evaluator::install_globals() {
  Frame& g = frames_.back();
  g["range"] = Value::function("range", [](CallArgs& a) -> Result<Value> {
    int64_t start = 0, stop = 0, step = 1;
    for (const Value& v : a.positional)
      if (!v.is_int()) return invalid_argument("range() arguments must be integers");
    if (a.positional.size() == 1) {
      stop = a.positional[0].as_int();
    } else if (a.positional.size() == 2 || a.positional.size() == 3) {
      start = a.positional[0].as_int();
      stop = a.positional[1].as_int();
      if (a.positional.size() == 3) step = a.positional[2].as_int();
    } else {
      return invalid_argument("range() takes 1 to 3 arguments");
    }
    if (step == 0) return invalid_argument("range() arg 3 must not be zero");
    Array out;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
      // Jinja's sandbox limit (MAX_RANGE).
      if (out.size() >= 100000)
        return invalid_argument("Range too big. The sandbox blocks ranges larger than 100000.");
      out.emplace_back(i);
    }
    return Value::array(std::move(out));
  });
  g["dict"] = Value::function("dict", [](CallArgs& a) -> Result<Value> {
    auto obj = std::make_shared<Object>();
    if (!a.positional.empty() && a.positional[0].is_object()) {
      for (const auto& [k, v] : a.positional[0].as_object()->items()) obj->set(k, v);
    }
    for (const auto& [k, v] : a.keyword) obj->set(k, v);
    return Value(obj);
  });
  g["namespace"] = Value::function("namespace", [](CallArgs& a) -> Result<Value> {
    auto obj = std::make_shared<Object>();
    obj->is_namespace = true;
    if (!a.positional.empty() && a.positional[0].is_object()) {
      for (const auto& [k, v] : a.positional[0].as_object()->items()) obj->set(k, v);
    }
    for (const auto& [k, v] : a.keyword) obj->set(k, v);
    return Value(obj);
  });
  g["raise_exception"] = Value::function("raise_exception", [](CallArgs& a) -> Result<Value> {
    const std::string msg =
        a.positional.empty() ? std::string("raise_exception() called") : a.positional[0].to_str();
    return invalid_argument("template raised an exception: " + msg);
  });
  const std::optional<int64_t> now = env_.now_unix_s;
  g["strftime_now"] = Value::function("strftime_now", [now](CallArgs& a) -> Result<Value> {
    if (a.positional.empty() || !a.positional[0].is_string())
      return invalid_argument("strftime_now(format) needs a string");
    const int64_t t = now ? *now : static_cast<int64_t>(std::time(nullptr));
    return Value(strftime_utc(a.positional[0].as_string(), t));
  });
}

Value Evaluator::lookup(const std::string& name) const {
  for (auto it = frames_.rbegin(); it != frames_.rend(); ++it) {
    const auto f = it->find(name);
    if (f != it->end()) return f->second;
  }
  return Value(Undefined{name});
}

Status Evaluator::render(const Body& body, std::string& out) {
  Result<Flow> flow = exec_body(body, out);
  if (!flow.ok()) return flow.status();
  return ok_status();
}

Result<Evaluator::Flow> Evaluator::exec_body(const Body& body, std::string& out) {
  for (const NodePtr& n : body) {
    FATHOM_ASSIGN_OR_RETURN(Flow f, exec(*n, out));
    if (f != Flow::kNormal) return f;
    if (out.size() > kMaxOutputBytes) return fail(n->line, "template output exceeds 256 MiB");
  }
  return Flow::kNormal;
}

Result<Evaluator::Flow> Evaluator::exec(const Node& n, std::string& out) {
  switch (n.kind) {
    case Node::Kind::kText:
      out += n.text;
      return Flow::kNormal;
    case Node::Kind::kOutput: {
      FATHOM_ASSIGN_OR_RETURN(Value v, eval(*n.expr));
      out += v.to_str();
      return Flow::kNormal;
    }
    case Node::Kind::kIf:
      for (const auto& [cond, body] : n.branches) {
        bool take = true;
        if (cond) {
          FATHOM_ASSIGN_OR_RETURN(Value c, eval(*cond));
          take = c.truthy();
        }
        if (take) return exec_body(body, out);
      }
      return Flow::kNormal;
    case Node::Kind::kFor:
      return exec_for(n, out);
    case Node::Kind::kSet:
      FATHOM_RETURN_IF_ERROR(exec_set(n));
      return Flow::kNormal;
    case Node::Kind::kSetBlock: {
      std::string captured;
      FATHOM_ASSIGN_OR_RETURN(Flow f, exec_body(n.body, captured));
      (void)f;
      assign(n.targets[0], Value(captured));
      return Flow::kNormal;
    }
    case Node::Kind::kMacro:
      assign(n.text, make_macro(n));
      return Flow::kNormal;
    case Node::Kind::kFilterBlock: {
      std::string captured;
      FATHOM_ASSIGN_OR_RETURN(Flow f, exec_body(n.body, captured));
      (void)f;
      FATHOM_ASSIGN_OR_RETURN(CallArgs args, eval_args(*n.expr, 1));
      Result<Value> v = apply_filter(n.expr->name, Value(captured), args);
      if (!v.ok()) return at_line(v.status(), n.line);
      out += v->to_str();
      return Flow::kNormal;
    }
    case Node::Kind::kBreak:
      return Flow::kBreak;
    case Node::Kind::kContinue:
      return Flow::kContinue;
    case Node::Kind::kCallBlock:
      return fail(n.line, "call blocks are not supported");
  }
  return fail(n.line, "unknown statement");
}

Status Evaluator::assign_targets(const std::vector<std::string>& targets, const Value& v) {
  if (targets.size() == 1) {
    assign(targets[0], v);
    return ok_status();
  }
  FATHOM_ASSIGN_OR_RETURN(Array items, iterate(v));
  if (items.size() != targets.size()) {
    return invalid_argument("cannot unpack " + std::to_string(items.size()) + " values into " +
                            std::to_string(targets.size()) + " names");
  }
  for (size_t i = 0; i < targets.size(); ++i) assign(targets[i], items[i]);
  return ok_status();
}

Status Evaluator::exec_set(const Node& n) {
  FATHOM_ASSIGN_OR_RETURN(Value v, eval(*n.expr));
  if (!n.target_attr.empty()) {
    Value target = lookup(n.targets[0]);
    if (!target.is_object() || !target.as_object()->is_namespace) {
      return fail(n.line, "cannot assign attribute '" + n.target_attr + "' on '" + n.targets[0] +
                              "': not a namespace() object");
    }
    target.as_object()->set(n.target_attr, std::move(v));
    return ok_status();
  }
  Status s = assign_targets(n.targets, v);
  return s.ok() ? s : at_line(s, n.line);
}

Result<Evaluator::Flow> Evaluator::exec_for(const Node& n, std::string& out) {
  FATHOM_ASSIGN_OR_RETURN(Value iterable, eval(*n.expr));
  Result<Array> listed = iterate(iterable);
  if (!listed.ok()) return at_line(listed.status(), n.line);
  Array items = std::move(*listed);
  frames_.emplace_back();
  struct PopFrame {
    std::vector<Frame>& frames;
    ~PopFrame() { frames.pop_back(); }
  } pop{frames_};
  if (n.filter) {
    Array kept;
    for (const Value& item : items) {
      Status s = assign_targets(n.targets, item);
      if (!s.ok()) return at_line(s, n.line);
      FATHOM_ASSIGN_OR_RETURN(Value keep, eval(*n.filter));
      if (keep.truthy()) kept.push_back(item);
    }
    items = std::move(kept);
  }
  if (items.empty()) return exec_body(n.else_body, out);
  const auto length = static_cast<int64_t>(items.size());
  for (int64_t i = 0; i < length; ++i) {
    const Value& item = items[static_cast<size_t>(i)];
    Status s = assign_targets(n.targets, item);
    if (!s.ok()) return at_line(s, n.line);
    auto loop = std::make_shared<Object>();
    loop->set("index0", Value(i));
    loop->set("index", Value(i + 1));
    loop->set("revindex", Value(length - i));
    loop->set("revindex0", Value(length - i - 1));
    loop->set("first", Value(i == 0));
    loop->set("last", Value(i == length - 1));
    loop->set("length", Value(length));
    loop->set("depth", Value(int64_t{1}));
    loop->set("depth0", Value(int64_t{0}));
    loop->set("previtem",
              i > 0 ? items[static_cast<size_t>(i - 1)] : Value(Undefined{"loop.previtem"}));
    loop->set("nextitem", i + 1 < length ? items[static_cast<size_t>(i + 1)]
                                         : Value(Undefined{"loop.nextitem"}));
    loop->set("cycle", Value::function("cycle", [i](CallArgs& a) -> Result<Value> {
                if (a.positional.empty())
                  return invalid_argument("loop.cycle() needs at least one argument");
                return a.positional[static_cast<size_t>(i) % a.positional.size()];
              }));
    assign("loop", Value(loop));
    FATHOM_ASSIGN_OR_RETURN(Flow f, exec_body(n.body, out));
    if (f == Flow::kBreak) break;
  }
  return Flow::kNormal;
}

Value Evaluator::make_macro(const Node& node) {
  const Node* def = &node;
  return Value::function(node.text, [this, def](CallArgs& args) -> Result<Value> {
    if (depth_ >= kMaxMacroDepth) return fail(def->line, "macro recursion too deep");
    if (args.positional.size() > def->params.size()) {
      return fail(def->line, "macro '" + def->text + "' takes " +
                                 std::to_string(def->params.size()) + " arguments");
    }
    Frame frame;
    for (size_t i = 0; i < def->params.size(); ++i) {
      const std::string& pname = def->params[i].first;
      if (i < args.positional.size()) {
        frame[pname] = args.positional[i];
      } else if (const Value* kw = args.get_kwarg(pname)) {
        frame[pname] = *kw;
      } else if (def->params[i].second) {
        FATHOM_ASSIGN_OR_RETURN(Value d, eval(*def->params[i].second));
        frame[pname] = d;
      } else {
        frame[pname] = Value(Undefined{pname});
      }
    }
    frames_.push_back(std::move(frame));
    ++depth_;
    std::string out;
    Result<Flow> r = exec_body(def->body, out);
    --depth_;
    frames_.pop_back();
    if (!r.ok()) return r.status();
    return Value(out);
  });
}

Result<CallArgs> Evaluator::eval_args(const Expr& e, size_t first_child) {
  CallArgs args;
  for (size_t i = first_child; i < e.children.size(); ++i) {
    FATHOM_ASSIGN_OR_RETURN(Value v, eval(*e.children[i]));
    args.positional.push_back(std::move(v));
  }
  for (const auto& [k, expr] : e.kwargs) {
    FATHOM_ASSIGN_OR_RETURN(Value v, eval(*expr));
    args.keyword.emplace_back(k, std::move(v));
  }
  return args;
}

Result<Value> Evaluator::apply_filter(const std::string& name, const Value& v, CallArgs& args) {
  return call_filter(name, v, args, hooks_);
}

Result<Value> Evaluator::call_value(const Value& fn, CallArgs& args, int line) {
  if (!fn.is_callable()) {
    if (fn.is_undefined()) {
      const std::string& what = fn.as_undefined().name;
      return fail(line, "'" + (what.empty() ? std::string("undefined") : what) +
                            "' is undefined (called as a function)");
    }
    return fail(line, "'" + fn.type_name() + "' object is not callable");
  }
  Result<Value> r = fn.as_callable()->fn(args);
  if (!r.ok()) return at_line(r.status(), line);
  return r;
}

Result<Value> Evaluator::eval(const Expr& e) {
  switch (e.kind) {
    case Expr::Kind::kLiteral:
      return e.literal;
    case Expr::Kind::kName:
      return lookup(e.name);
    case Expr::Kind::kList:
    case Expr::Kind::kTuple: {
      Array items;
      for (const ExprPtr& c : e.children) {
        FATHOM_ASSIGN_OR_RETURN(Value v, eval(*c));
        items.push_back(std::move(v));
      }
      return e.kind == Expr::Kind::kTuple ? Value::tuple(std::move(items))
                                          : Value::array(std::move(items));
    }
    case Expr::Kind::kDict: {
      auto obj = std::make_shared<Object>();
      for (size_t i = 0; i + 1 < e.children.size(); i += 2) {
        FATHOM_ASSIGN_OR_RETURN(Value k, eval(*e.children[i]));
        FATHOM_ASSIGN_OR_RETURN(Value v, eval(*e.children[i + 1]));
        if (!k.is_string())
          return fail(e.line, "dict keys must be strings here, got " + k.type_name());
        obj->set(k.as_string(), std::move(v));
      }
      return Value(obj);
    }
    case Expr::Kind::kGetAttr: {
      FATHOM_ASSIGN_OR_RETURN(Value obj, eval(*e.children[0]));
      Result<Value> r = get_attribute(obj, e.name);
      if (!r.ok()) return at_line(r.status(), e.line);
      return r;
    }
    case Expr::Kind::kGetItem: {
      FATHOM_ASSIGN_OR_RETURN(Value obj, eval(*e.children[0]));
      FATHOM_ASSIGN_OR_RETURN(Value key, eval(*e.children[1]));
      Result<Value> r = get_item(obj, key);
      if (!r.ok()) return at_line(r.status(), e.line);
      return r;
    }
    case Expr::Kind::kSlice: {
      FATHOM_ASSIGN_OR_RETURN(Value obj, eval(*e.children[0]));
      Value parts[3];
      for (int i = 0; i < 3; ++i) {
        if (e.children[i + 1]) {
          FATHOM_ASSIGN_OR_RETURN(parts[i], eval(*e.children[i + 1]));
        }
      }
      Result<Value> r = get_slice(obj, parts[0], parts[1], parts[2]);
      if (!r.ok()) return at_line(r.status(), e.line);
      return r;
    }
    case Expr::Kind::kCall: {
      FATHOM_ASSIGN_OR_RETURN(Value fn, eval(*e.children[0]));
      FATHOM_ASSIGN_OR_RETURN(CallArgs args, eval_args(e, 1));
      return call_value(fn, args, e.line);
    }
    case Expr::Kind::kFilter: {
      FATHOM_ASSIGN_OR_RETURN(Value v, eval(*e.children[0]));
      FATHOM_ASSIGN_OR_RETURN(CallArgs args, eval_args(e, 1));
      Result<Value> r = apply_filter(e.name, v, args);
      if (!r.ok()) return at_line(r.status(), e.line);
      return r;
    }
    case Expr::Kind::kTest: {
      FATHOM_ASSIGN_OR_RETURN(Value v, eval(*e.children[0]));
      FATHOM_ASSIGN_OR_RETURN(CallArgs args, eval_args(e, 1));
      Result<bool> r = call_test(e.name, v, args);
      if (!r.ok()) return at_line(r.status(), e.line);
      return Value(*r != e.negated);
    }
    case Expr::Kind::kUnary: {
      FATHOM_ASSIGN_OR_RETURN(Value v, eval(*e.children[0]));
      if (e.name == "not") return Value(!v.truthy());
      if (v.is_int()) return Value(e.name == "-" ? -v.as_int() : v.as_int());
      if (v.is_bool())
        return Value(static_cast<int64_t>(e.name == "-" ? -int64_t{v.as_bool()} : v.as_bool()));
      if (v.is_float()) return Value(e.name == "-" ? -v.as_double() : v.as_double());
      return fail(e.line, "bad operand type for unary " + e.name + ": '" + v.type_name() + "'");
    }
    case Expr::Kind::kAnd: {
      FATHOM_ASSIGN_OR_RETURN(Value l, eval(*e.children[0]));
      if (!l.truthy()) return l;
      return eval(*e.children[1]);
    }
    case Expr::Kind::kOr: {
      FATHOM_ASSIGN_OR_RETURN(Value l, eval(*e.children[0]));
      if (l.truthy()) return l;
      return eval(*e.children[1]);
    }
    case Expr::Kind::kCondition: {
      FATHOM_ASSIGN_OR_RETURN(Value c, eval(*e.children[1]));
      if (c.truthy()) return eval(*e.children[0]);
      if (e.children[2]) return eval(*e.children[2]);
      return Value(Undefined{"conditional expression"});
    }
    case Expr::Kind::kBinary:
      return eval_binary(e);
    case Expr::Kind::kCompare: {
      // a < b < c means (a < b) and (b < c), each operand evaluated once.
      FATHOM_ASSIGN_OR_RETURN(Value left, eval(*e.children[0]));
      for (size_t i = 0; i < e.ops.size(); ++i) {
        FATHOM_ASSIGN_OR_RETURN(Value right, eval(*e.children[i + 1]));
        Result<bool> r = compare_op(e.ops[i], left, right);
        if (!r.ok()) return at_line(r.status(), e.line);
        if (!*r) return Value(false);
        left = std::move(right);
      }
      return Value(true);
    }
  }
  return fail(e.line, "unknown expression");
}

Result<Value> Evaluator::eval_binary(const Expr& e) {
  FATHOM_ASSIGN_OR_RETURN(Value a, eval(*e.children[0]));
  FATHOM_ASSIGN_OR_RETURN(Value b, eval(*e.children[1]));
  const std::string& op = e.name;
  if (op == "~") return Value(a.to_str() + b.to_str());
  Result<Value> r = arithmetic(op, a, b);
  if (!r.ok()) return at_line(r.status(), e.line);
  return r;
}

Result<Template> Template::parse(std::string_view source) {
  FATHOM_ASSIGN_OR_RETURN(std::vector<Token> tokens, lex(source, LexOptions{}));
  FATHOM_ASSIGN_OR_RETURN(Body body, jinja::parse(tokens));
  Template t;
  t.body_ = std::make_shared<const Body>(std::move(body));
  return t;
}

Result<std::string> Template::render(const RenderEnv& env) const {
  Evaluator ev(env);
  std::string out;
  FATHOM_RETURN_IF_ERROR(ev.render(*body_, out));
  return out;
}

}  // namespace fathom::tokenizer::jinja
