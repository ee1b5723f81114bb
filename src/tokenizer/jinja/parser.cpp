#include "tokenizer/jinja/parser.h"

#include <charconv>
#include <initializer_list>
#include <string>

namespace fathom::tokenizer::jinja {

namespace {

// Bounded nesting keeps a hostile template from exhausting the stack.
struct DepthGuard {
  explicit DepthGuard(int& depth) : depth_(depth) { ++depth_; }
  ~DepthGuard() { --depth_; }
  DepthGuard(const DepthGuard&) = delete;
  DepthGuard& operator=(const DepthGuard&) = delete;
  int& depth_;
};

class Parser {
 public:
  explicit Parser(const std::vector<Token>& tokens) : t_(tokens) {}

  Result<Body> parse_template() {
    std::string ended;
    FATHOM_ASSIGN_OR_RETURN(Body body, parse_body({}, ended));
    return body;
  }

 private:
  // ------------------------------------------------------------------ helpers
  const Token& peek(size_t ahead = 0) const {
    const size_t i = std::min(pos_ + ahead, t_.size() - 1);
    return t_[i];
  }
  const Token& next() {
    const Token& tok = t_[pos_];
    if (pos_ + 1 < t_.size()) ++pos_;
    return tok;
  }
  bool is_op(const char* op, size_t ahead = 0) const {
    return peek(ahead).kind == TokenKind::kOp && peek(ahead).value == op;
  }
  bool is_name(const char* name, size_t ahead = 0) const {
    return peek(ahead).kind == TokenKind::kName && peek(ahead).value == name;
  }
  Status error(const std::string& msg) const {
    return invalid_argument("line " + std::to_string(peek().line) + ": " + msg);
  }
  static std::string describe(const Token& tok) {
    switch (tok.kind) {
      case TokenKind::kText:
        return "text";
      case TokenKind::kVarBegin:
        return "'{{'";
      case TokenKind::kVarEnd:
        return "'}}'";
      case TokenKind::kBlockBegin:
        return "'{%'";
      case TokenKind::kBlockEnd:
        return "'%}'";
      case TokenKind::kEof:
        return "end of template";
      case TokenKind::kString:
        return "string literal";
      default:
        return "'" + tok.value + "'";
    }
  }
  Status expect_op(const char* op) {
    if (!is_op(op)) return error(std::string("expected '") + op + "', got " + describe(peek()));
    next();
    return ok_status();
  }
  Status expect_block_end() {
    if (peek().kind != TokenKind::kBlockEnd) return error("expected '%}', got " + describe(peek()));
    next();
    return ok_status();
  }
  Result<std::string> expect_name() {
    if (peek().kind != TokenKind::kName) return error("expected a name, got " + describe(peek()));
    return next().value;
  }
  ExprPtr make(Expr::Kind kind, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = line;
    return e;
  }

  // ------------------------------------------------------------------ statements
  // Parses nodes until a block tag whose name is in `end_names` (consumed: "{% name").
  Result<Body> parse_body(std::initializer_list<const char*> end_names, std::string& ended) {
    Body body;
    for (;;) {
      const Token& tok = peek();
      if (tok.kind == TokenKind::kEof) {
        if (end_names.size() == 0) return body;
        std::string expected;
        for (const char* n : end_names)
          expected += std::string(expected.empty() ? "" : " or ") + "'" + n + "'";
        return error("unexpected end of template, expected " + expected);
      }
      if (tok.kind == TokenKind::kText) {
        auto n = std::make_unique<Node>();
        n->kind = Node::Kind::kText;
        n->line = tok.line;
        n->text = tok.value;
        next();
        body.push_back(std::move(n));
        continue;
      }
      if (tok.kind == TokenKind::kVarBegin) {
        next();
        auto n = std::make_unique<Node>();
        n->kind = Node::Kind::kOutput;
        n->line = tok.line;
        FATHOM_ASSIGN_OR_RETURN(n->expr, parse_expression(true));
        if (peek().kind != TokenKind::kVarEnd)
          return error("expected '}}', got " + describe(peek()));
        next();
        body.push_back(std::move(n));
        continue;
      }
      if (tok.kind == TokenKind::kBlockBegin) {
        if (peek(1).kind != TokenKind::kName) {
          next();
          return error("expected a statement name after '{%'");
        }
        const std::string& name = peek(1).value;
        for (const char* end : end_names) {
          if (name == end) {
            next();
            next();
            ended = name;
            return body;
          }
        }
        next();
        FATHOM_ASSIGN_OR_RETURN(NodePtr stmt, parse_statement());
        if (stmt) body.push_back(std::move(stmt));
        continue;
      }
      return error("unexpected " + describe(tok));
    }
  }

  Result<NodePtr> parse_statement() {
    const DepthGuard guard(depth_);
    if (depth_ > kMaxNesting) return error("statements nested too deeply");
    const Token& name_tok = next();
    const std::string name = name_tok.value;
    auto n = std::make_unique<Node>();
    n->line = name_tok.line;
    std::string ended;
    if (name == "if") {
      n->kind = Node::Kind::kIf;
      FATHOM_ASSIGN_OR_RETURN(ExprPtr cond, parse_expression(true));
      FATHOM_RETURN_IF_ERROR(expect_block_end());
      FATHOM_ASSIGN_OR_RETURN(Body body, parse_body({"elif", "else", "endif"}, ended));
      n->branches.emplace_back(std::move(cond), std::move(body));
      while (ended == "elif") {
        FATHOM_ASSIGN_OR_RETURN(ExprPtr c, parse_expression(true));
        FATHOM_RETURN_IF_ERROR(expect_block_end());
        FATHOM_ASSIGN_OR_RETURN(Body b, parse_body({"elif", "else", "endif"}, ended));
        n->branches.emplace_back(std::move(c), std::move(b));
      }
      if (ended == "else") {
        FATHOM_RETURN_IF_ERROR(expect_block_end());
        FATHOM_ASSIGN_OR_RETURN(Body b, parse_body({"endif"}, ended));
        n->branches.emplace_back(nullptr, std::move(b));
      }
      FATHOM_RETURN_IF_ERROR(expect_block_end());
      return n;
    }
    if (name == "for") {
      n->kind = Node::Kind::kFor;
      for (;;) {
        FATHOM_ASSIGN_OR_RETURN(std::string target, expect_name());
        n->targets.push_back(std::move(target));
        if (!is_op(",")) break;
        next();
      }
      if (!is_name("in")) return error("expected 'in' in for loop, got " + describe(peek()));
      next();
      FATHOM_ASSIGN_OR_RETURN(n->expr, parse_tuple_expression(false));
      if (is_name("if")) {
        next();
        FATHOM_ASSIGN_OR_RETURN(n->filter, parse_expression(false));
      }
      if (is_name("recursive")) return error("recursive for loops are not supported");
      FATHOM_RETURN_IF_ERROR(expect_block_end());
      FATHOM_ASSIGN_OR_RETURN(n->body, parse_body({"else", "endfor"}, ended));
      if (ended == "else") {
        FATHOM_RETURN_IF_ERROR(expect_block_end());
        FATHOM_ASSIGN_OR_RETURN(n->else_body, parse_body({"endfor"}, ended));
      }
      FATHOM_RETURN_IF_ERROR(expect_block_end());
      return n;
    }
    if (name == "set") {
      FATHOM_ASSIGN_OR_RETURN(std::string target, expect_name());
      n->targets.push_back(std::move(target));
      if (is_op(".")) {
        next();
        FATHOM_ASSIGN_OR_RETURN(n->target_attr, expect_name());
      } else {
        while (is_op(",")) {
          next();
          FATHOM_ASSIGN_OR_RETURN(std::string more, expect_name());
          n->targets.push_back(std::move(more));
        }
      }
      if (is_op("=")) {
        next();
        n->kind = Node::Kind::kSet;
        FATHOM_ASSIGN_OR_RETURN(n->expr, parse_tuple_expression(true));
        FATHOM_RETURN_IF_ERROR(expect_block_end());
        return n;
      }
      if (n->targets.size() != 1 || !n->target_attr.empty()) return error("expected '=' in set");
      n->kind = Node::Kind::kSetBlock;
      FATHOM_RETURN_IF_ERROR(expect_block_end());
      FATHOM_ASSIGN_OR_RETURN(n->body, parse_body({"endset"}, ended));
      FATHOM_RETURN_IF_ERROR(expect_block_end());
      return n;
    }
    if (name == "macro") {
      n->kind = Node::Kind::kMacro;
      FATHOM_ASSIGN_OR_RETURN(n->text, expect_name());
      FATHOM_RETURN_IF_ERROR(expect_op("("));
      while (!is_op(")")) {
        FATHOM_ASSIGN_OR_RETURN(std::string param, expect_name());
        ExprPtr def;
        if (is_op("=")) {
          next();
          FATHOM_ASSIGN_OR_RETURN(def, parse_expression(true));
        }
        n->params.emplace_back(std::move(param), std::move(def));
        if (!is_op(",")) break;
        next();
      }
      FATHOM_RETURN_IF_ERROR(expect_op(")"));
      FATHOM_RETURN_IF_ERROR(expect_block_end());
      FATHOM_ASSIGN_OR_RETURN(n->body, parse_body({"endmacro"}, ended));
      if (peek().kind == TokenKind::kName) next();  // {% endmacro name %}
      FATHOM_RETURN_IF_ERROR(expect_block_end());
      return n;
    }
    if (name == "filter") {
      n->kind = Node::Kind::kFilterBlock;
      auto placeholder = make(Expr::Kind::kLiteral, n->line);
      FATHOM_ASSIGN_OR_RETURN(n->expr, parse_filter(std::move(placeholder)));
      FATHOM_RETURN_IF_ERROR(expect_block_end());
      FATHOM_ASSIGN_OR_RETURN(n->body, parse_body({"endfilter"}, ended));
      FATHOM_RETURN_IF_ERROR(expect_block_end());
      return n;
    }
    if (name == "generation") {
      // transformers' AssistantTracker: the body renders as usual.
      FATHOM_RETURN_IF_ERROR(expect_block_end());
      n->kind = Node::Kind::kIf;
      auto always = make(Expr::Kind::kLiteral, n->line);
      always->literal = Value(true);
      FATHOM_ASSIGN_OR_RETURN(Body body, parse_body({"endgeneration"}, ended));
      n->branches.emplace_back(std::move(always), std::move(body));
      FATHOM_RETURN_IF_ERROR(expect_block_end());
      return n;
    }
    if (name == "break" || name == "continue") {
      n->kind = name == "break" ? Node::Kind::kBreak : Node::Kind::kContinue;
      FATHOM_RETURN_IF_ERROR(expect_block_end());
      return n;
    }
    if (name == "do") {
      // {% do expr %}: evaluate for side effects, print nothing.
      n->kind = Node::Kind::kSet;
      n->targets.push_back("_");
      FATHOM_ASSIGN_OR_RETURN(n->expr, parse_expression(true));
      FATHOM_RETURN_IF_ERROR(expect_block_end());
      return n;
    }
    return invalid_argument("line " + std::to_string(name_tok.line) +
                            ": unknown or unsupported tag '" + name + "'");
  }

  // ------------------------------------------------------------------ expressions
  // A bare tuple "a, b" (for loops and set statements).
  Result<ExprPtr> parse_tuple_expression(bool allow_condition) {
    const int line = peek().line;
    FATHOM_ASSIGN_OR_RETURN(ExprPtr first, parse_expression(allow_condition));
    if (!is_op(",")) return first;
    auto tuple = make(Expr::Kind::kTuple, line);
    tuple->children.push_back(std::move(first));
    while (is_op(",")) {
      next();
      if (peek().kind == TokenKind::kBlockEnd) break;
      FATHOM_ASSIGN_OR_RETURN(ExprPtr item, parse_expression(allow_condition));
      tuple->children.push_back(std::move(item));
    }
    return tuple;
  }

  Result<ExprPtr> parse_expression(bool allow_condition) {
    const DepthGuard guard(depth_);
    if (depth_ > kMaxNesting) return error("expression nested too deeply");
    const int line = peek().line;
    FATHOM_ASSIGN_OR_RETURN(ExprPtr expr, parse_or());
    while (allow_condition && is_name("if")) {
      next();
      FATHOM_ASSIGN_OR_RETURN(ExprPtr cond, parse_or());
      ExprPtr otherwise;
      if (is_name("else")) {
        next();
        FATHOM_ASSIGN_OR_RETURN(otherwise, parse_expression(true));
      }
      auto c = make(Expr::Kind::kCondition, line);
      c->children.push_back(std::move(expr));
      c->children.push_back(std::move(cond));
      c->children.push_back(std::move(otherwise));
      expr = std::move(c);
    }
    return expr;
  }

  Result<ExprPtr> parse_or() {
    FATHOM_ASSIGN_OR_RETURN(ExprPtr left, parse_and());
    while (is_name("or")) {
      const int line = next().line;
      FATHOM_ASSIGN_OR_RETURN(ExprPtr right, parse_and());
      auto e = make(Expr::Kind::kOr, line);
      e->children.push_back(std::move(left));
      e->children.push_back(std::move(right));
      left = std::move(e);
    }
    return left;
  }

  Result<ExprPtr> parse_and() {
    FATHOM_ASSIGN_OR_RETURN(ExprPtr left, parse_not());
    while (is_name("and")) {
      const int line = next().line;
      FATHOM_ASSIGN_OR_RETURN(ExprPtr right, parse_not());
      auto e = make(Expr::Kind::kAnd, line);
      e->children.push_back(std::move(left));
      e->children.push_back(std::move(right));
      left = std::move(e);
    }
    return left;
  }

  Result<ExprPtr> parse_not() {
    const DepthGuard guard(depth_);
    if (depth_ > kMaxNesting) return error("expression nested too deeply");
    if (is_name("not")) {
      const int line = next().line;
      FATHOM_ASSIGN_OR_RETURN(ExprPtr operand, parse_not());
      auto e = make(Expr::Kind::kUnary, line);
      e->name = "not";
      e->children.push_back(std::move(operand));
      return e;
    }
    return parse_compare();
  }

  ExprPtr binary(std::string op, ExprPtr l, ExprPtr r, int line) {
    auto e = make(Expr::Kind::kBinary, line);
    e->name = std::move(op);
    e->children.push_back(std::move(l));
    e->children.push_back(std::move(r));
    return e;
  }

  Result<ExprPtr> parse_compare() {
    const int line = peek().line;
    FATHOM_ASSIGN_OR_RETURN(ExprPtr first, parse_math1());
    ExprPtr chain;
    for (;;) {
      std::string op;
      if (peek().kind == TokenKind::kOp &&
          (peek().value == "==" || peek().value == "!=" || peek().value == "<" ||
           peek().value == "<=" || peek().value == ">" || peek().value == ">=")) {
        op = next().value;
      } else if (is_name("in")) {
        next();
        op = "in";
      } else if (is_name("not") && is_name("in", 1)) {
        next();
        next();
        op = "not in";
      } else {
        break;
      }
      FATHOM_ASSIGN_OR_RETURN(ExprPtr right, parse_math1());
      if (!chain) {
        chain = make(Expr::Kind::kCompare, line);
        chain->children.push_back(std::move(first));
      }
      chain->ops.push_back(std::move(op));
      chain->children.push_back(std::move(right));
    }
    if (!chain) return first;
    return chain;
  }

  Result<ExprPtr> parse_math1() {
    FATHOM_ASSIGN_OR_RETURN(ExprPtr left, parse_concat());
    while (is_op("+") || is_op("-")) {
      const Token& op = next();
      FATHOM_ASSIGN_OR_RETURN(ExprPtr right, parse_concat());
      left = binary(op.value, std::move(left), std::move(right), op.line);
    }
    return left;
  }

  Result<ExprPtr> parse_concat() {
    FATHOM_ASSIGN_OR_RETURN(ExprPtr left, parse_math2());
    while (is_op("~")) {
      const Token& op = next();
      FATHOM_ASSIGN_OR_RETURN(ExprPtr right, parse_math2());
      left = binary("~", std::move(left), std::move(right), op.line);
    }
    return left;
  }

  Result<ExprPtr> parse_math2() {
    FATHOM_ASSIGN_OR_RETURN(ExprPtr left, parse_pow());
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Token& op = next();
      FATHOM_ASSIGN_OR_RETURN(ExprPtr right, parse_pow());
      left = binary(op.value, std::move(left), std::move(right), op.line);
    }
    return left;
  }

  Result<ExprPtr> parse_pow() {
    FATHOM_ASSIGN_OR_RETURN(ExprPtr left, parse_unary(true));
    while (is_op("**")) {
      const Token& op = next();
      FATHOM_ASSIGN_OR_RETURN(ExprPtr right, parse_unary(true));
      left = binary("**", std::move(left), std::move(right), op.line);
    }
    return left;
  }

  Result<ExprPtr> parse_unary(bool with_filter) {
    const DepthGuard guard(depth_);
    if (depth_ > kMaxNesting) return error("expression nested too deeply");
    ExprPtr node;
    if (is_op("-") || is_op("+")) {
      const Token& op = next();
      FATHOM_ASSIGN_OR_RETURN(ExprPtr operand, parse_unary(false));
      node = make(Expr::Kind::kUnary, op.line);
      node->name = op.value;
      node->children.push_back(std::move(operand));
    } else {
      FATHOM_ASSIGN_OR_RETURN(node, parse_primary());
    }
    FATHOM_ASSIGN_OR_RETURN(node, parse_postfix(std::move(node)));
    if (with_filter) {
      FATHOM_ASSIGN_OR_RETURN(node, parse_filter_expr(std::move(node)));
    }
    return node;
  }

  Result<ExprPtr> parse_primary() {
    const Token& tok = peek();
    const int line = tok.line;
    switch (tok.kind) {
      case TokenKind::kName: {
        next();
        auto e = make(Expr::Kind::kLiteral, line);
        if (tok.value == "true" || tok.value == "True") {
          e->literal = Value(true);
        } else if (tok.value == "false" || tok.value == "False") {
          e->literal = Value(false);
        } else if (tok.value == "none" || tok.value == "None") {
          e->literal = Value(None{});
        } else {
          e->kind = Expr::Kind::kName;
          e->name = tok.value;
        }
        return e;
      }
      case TokenKind::kString: {
        std::string s = next().value;
        while (peek().kind == TokenKind::kString) s += next().value;  // "a" "b" concatenates
        auto e = make(Expr::Kind::kLiteral, line);
        e->literal = Value(std::move(s));
        return e;
      }
      case TokenKind::kInt: {
        const std::string& text = next().value;
        int64_t v = 0;
        const auto res = std::from_chars(text.data(), text.data() + text.size(), v);
        auto e = make(Expr::Kind::kLiteral, line);
        if (res.ec != std::errc()) {
          e->literal = Value(std::strtod(text.c_str(), nullptr));
        } else {
          e->literal = Value(v);
        }
        return e;
      }
      case TokenKind::kFloat: {
        auto e = make(Expr::Kind::kLiteral, line);
        e->literal = Value(std::strtod(next().value.c_str(), nullptr));
        return e;
      }
      case TokenKind::kOp: {
        if (tok.value == "(") {
          next();
          if (is_op(")")) {
            next();
            return make(Expr::Kind::kTuple, line);
          }
          FATHOM_ASSIGN_OR_RETURN(ExprPtr first, parse_expression(true));
          if (is_op(")")) {
            next();
            return first;
          }
          auto tuple = make(Expr::Kind::kTuple, line);
          tuple->children.push_back(std::move(first));
          while (is_op(",")) {
            next();
            if (is_op(")")) break;
            FATHOM_ASSIGN_OR_RETURN(ExprPtr item, parse_expression(true));
            tuple->children.push_back(std::move(item));
          }
          FATHOM_RETURN_IF_ERROR(expect_op(")"));
          return tuple;
        }
        if (tok.value == "[") {
          next();
          auto list = make(Expr::Kind::kList, line);
          while (!is_op("]")) {
            FATHOM_ASSIGN_OR_RETURN(ExprPtr item, parse_expression(true));
            list->children.push_back(std::move(item));
            if (!is_op(",")) break;
            next();
          }
          FATHOM_RETURN_IF_ERROR(expect_op("]"));
          return list;
        }
        if (tok.value == "{") {
          next();
          auto dict = make(Expr::Kind::kDict, line);
          while (!is_op("}")) {
            FATHOM_ASSIGN_OR_RETURN(ExprPtr key, parse_expression(true));
            FATHOM_RETURN_IF_ERROR(expect_op(":"));
            FATHOM_ASSIGN_OR_RETURN(ExprPtr value, parse_expression(true));
            dict->children.push_back(std::move(key));
            dict->children.push_back(std::move(value));
            if (!is_op(",")) break;
            next();
          }
          FATHOM_RETURN_IF_ERROR(expect_op("}"));
          return dict;
        }
        break;
      }
      default:
        break;
    }
    return error("unexpected " + describe(tok) + " in expression");
  }

  Status parse_call_args(Expr& call) {
    FATHOM_RETURN_IF_ERROR(expect_op("("));
    while (!is_op(")")) {
      if (peek().kind == TokenKind::kName && is_op("=", 1)) {
        std::string key = next().value;
        next();
        FATHOM_ASSIGN_OR_RETURN(ExprPtr value, parse_expression(true));
        call.kwargs.emplace_back(std::move(key), std::move(value));
      } else {
        if (!call.kwargs.empty()) return error("positional argument follows keyword argument");
        FATHOM_ASSIGN_OR_RETURN(ExprPtr value, parse_expression(true));
        call.children.push_back(std::move(value));
      }
      if (!is_op(",")) break;
      next();
    }
    return expect_op(")");
  }

  Result<ExprPtr> parse_postfix(ExprPtr node) {
    for (;;) {
      const int line = peek().line;
      if (is_op(".")) {
        next();
        if (peek().kind == TokenKind::kInt) {
          auto e = make(Expr::Kind::kGetItem, line);
          e->children.push_back(std::move(node));
          auto idx = make(Expr::Kind::kLiteral, line);
          idx->literal = Value(static_cast<int64_t>(std::stoll(next().value)));
          e->children.push_back(std::move(idx));
          node = std::move(e);
          continue;
        }
        FATHOM_ASSIGN_OR_RETURN(std::string attr, expect_name());
        auto e = make(Expr::Kind::kGetAttr, line);
        e->name = std::move(attr);
        e->children.push_back(std::move(node));
        node = std::move(e);
      } else if (is_op("[")) {
        next();
        ExprPtr parts[3];
        bool is_slice = false;
        if (!is_op(":")) {
          FATHOM_ASSIGN_OR_RETURN(parts[0], parse_expression(true));
        }
        if (is_op(":")) {
          is_slice = true;
          next();
          if (!is_op("]") && !is_op(":")) {
            FATHOM_ASSIGN_OR_RETURN(parts[1], parse_expression(true));
          }
          if (is_op(":")) {
            next();
            if (!is_op("]")) {
              FATHOM_ASSIGN_OR_RETURN(parts[2], parse_expression(true));
            }
          }
        }
        FATHOM_RETURN_IF_ERROR(expect_op("]"));
        auto e = make(is_slice ? Expr::Kind::kSlice : Expr::Kind::kGetItem, line);
        e->children.push_back(std::move(node));
        if (is_slice) {
          for (auto& p : parts) e->children.push_back(std::move(p));
        } else {
          e->children.push_back(std::move(parts[0]));
        }
        node = std::move(e);
      } else if (is_op("(")) {
        auto e = make(Expr::Kind::kCall, line);
        e->children.push_back(std::move(node));
        FATHOM_RETURN_IF_ERROR(parse_call_args(*e));
        node = std::move(e);
      } else {
        return node;
      }
    }
  }

  Result<ExprPtr> parse_filter(ExprPtr node) {
    const int line = peek().line;
    FATHOM_ASSIGN_OR_RETURN(std::string name, expect_name());
    while (is_op(".")) {  // dotted filter names
      next();
      FATHOM_ASSIGN_OR_RETURN(std::string more, expect_name());
      name += "." + more;
    }
    auto e = make(Expr::Kind::kFilter, line);
    e->name = std::move(name);
    e->children.push_back(std::move(node));
    if (is_op("(")) FATHOM_RETURN_IF_ERROR(parse_call_args(*e));
    return e;
  }

  Result<ExprPtr> parse_filter_expr(ExprPtr node) {
    for (;;) {
      if (is_op("|")) {
        next();
        FATHOM_ASSIGN_OR_RETURN(node, parse_filter(std::move(node)));
      } else if (is_name("is")) {
        const int line = next().line;
        auto e = make(Expr::Kind::kTest, line);
        if (is_name("not")) {
          next();
          e->negated = true;
        }
        FATHOM_ASSIGN_OR_RETURN(e->name, expect_name());
        while (is_op(".")) {
          next();
          FATHOM_ASSIGN_OR_RETURN(std::string more, expect_name());
          e->name += "." + more;
        }
        e->children.push_back(std::move(node));
        if (is_op("(")) {
          FATHOM_RETURN_IF_ERROR(parse_call_args(*e));
        } else {
          const Token& t = peek();
          const bool starts_arg =
              t.kind == TokenKind::kString || t.kind == TokenKind::kInt ||
              t.kind == TokenKind::kFloat ||
              (t.kind == TokenKind::kOp && (t.value == "[" || t.value == "{")) ||
              (t.kind == TokenKind::kName && t.value != "else" && t.value != "or" &&
               t.value != "and" && t.value != "if" && t.value != "in" && t.value != "is" &&
               t.value != "not");
          if (starts_arg) {
            FATHOM_ASSIGN_OR_RETURN(ExprPtr arg, parse_primary());
            FATHOM_ASSIGN_OR_RETURN(arg, parse_postfix(std::move(arg)));
            e->children.push_back(std::move(arg));
          }
        }
        node = std::move(e);
      } else if (is_op("(")) {
        auto e = make(Expr::Kind::kCall, peek().line);
        e->children.push_back(std::move(node));
        FATHOM_RETURN_IF_ERROR(parse_call_args(*e));
        node = std::move(e);
      } else {
        return node;
      }
    }
  }

  static constexpr int kMaxNesting = 200;
  const std::vector<Token>& t_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Result<Body> parse(const std::vector<Token>& tokens) { return Parser(tokens).parse_template(); }

}  // namespace fathom::tokenizer::jinja
