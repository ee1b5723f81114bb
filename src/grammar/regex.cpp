#include "grammar/regex.h"

#include <limits>

namespace fathom::grammar {
namespace {

struct Fragment {
  Sequence seq;
  bool nullable = true;
};

// ECMAScript's \s.
CharClass space_class() {
  CharClass s;
  for (uint32_t c : {0x09u, 0x0Au, 0x0Bu, 0x0Cu, 0x0Du, 0x20u, 0xA0u, 0x1680u, 0x2028u, 0x2029u,
                     0x202Fu, 0x205Fu, 0x3000u, 0xFEFFu})
    s.add(c, c);
  s.add(0x2000, 0x200A);
  return s;
}

CharClass word_class() {
  CharClass s = CharClass::range('a', 'z');
  s.add('A', 'Z');
  s.add('0', '9');
  s.add('_', '_');
  return s;
}

class RegexCompiler {
 public:
  RegexCompiler(GrammarBuilder& b, TextContext ctx, std::string name)
      : b_(b), ctx_(ctx), name_(std::move(name)) {}

  Result<RuleId> run(std::string_view pattern) {
    FATHOM_RETURN_IF_ERROR(decode(pattern));
    if (!cps_.empty() && cps_.front() == '^') cps_.erase(cps_.begin());
    if (!cps_.empty() && cps_.back() == '$') {
      size_t slashes = 0;
      for (size_t i = cps_.size() - 1; i > 0 && cps_[i - 1] == '\\'; --i) ++slashes;
      if (slashes % 2 == 0) cps_.pop_back();
    }
    FATHOM_ASSIGN_OR_RETURN(std::vector<Fragment> alts, alternation());
    if (pos_ < cps_.size()) return error("unbalanced ')'");
    std::vector<Sequence> seqs;
    for (Fragment& f : alts) seqs.push_back(std::move(f.seq));
    return b_.rule(name_, std::move(seqs));
  }

 private:
  Status error(const std::string& what) const { return invalid_argument("pattern: " + what); }
  bool at(uint32_t c) const { return pos_ < cps_.size() && cps_[pos_] == c; }
  bool done() const { return pos_ >= cps_.size(); }
  std::string sub_name() { return name_ + "_" + std::to_string(++counter_); }

  Status decode(std::string_view p) {
    for (size_t i = 0; i < p.size();) {
      const auto c0 = static_cast<uint8_t>(p[i]);
      const size_t len = c0 < 0x80         ? 1
                         : (c0 >> 5) == 6  ? 2
                         : (c0 >> 4) == 14 ? 3
                         : (c0 >> 3) == 30 ? 4
                                           : 0;
      if (len == 0 || i + len > p.size()) return error("not valid UTF-8");
      uint32_t c = len == 1 ? c0 : c0 & (0x7F >> len);
      for (size_t k = 1; k < len; ++k) {
        const auto ck = static_cast<uint8_t>(p[i + k]);
        if ((ck & 0xC0) != 0x80) return error("not valid UTF-8");
        c = (c << 6) | (ck & 0x3F);
      }
      cps_.push_back(c);
      i += len;
    }
    return ok_status();
  }

  Result<std::vector<Fragment>> alternation() {
    std::vector<Fragment> alts;
    while (true) {
      FATHOM_ASSIGN_OR_RETURN(Fragment f, concat());
      alts.push_back(std::move(f));
      if (!at('|')) break;
      ++pos_;
    }
    return alts;
  }

  Result<Fragment> concat() {
    Fragment out;
    while (!done() && !at('|') && !at(')')) {
      FATHOM_ASSIGN_OR_RETURN(Fragment atom, quantified());
      out.seq.insert(out.seq.end(), atom.seq.begin(), atom.seq.end());
      out.nullable = out.nullable && atom.nullable;
    }
    return out;
  }

  Result<int64_t> number() {
    int64_t v = 0;
    const size_t start = pos_;
    while (!done() && cps_[pos_] >= '0' && cps_[pos_] <= '9') {
      v = v * 10 + (cps_[pos_++] - '0');
      if (v > 1000000) return error("a repetition count is too large");
    }
    if (pos_ == start) return error("expected a number in {...}");
    return v;
  }

  Result<Fragment> quantified() {
    FATHOM_ASSIGN_OR_RETURN(Fragment atom, single());
    if (done()) return atom;
    int64_t min = 1, max = 1;
    const uint32_t q = cps_[pos_];
    if (q == '*' || q == '+' || q == '?') {
      ++pos_;
      min = q == '+' ? 1 : 0;
      max = q == '?' ? 1 : -1;
    } else if (q == '{') {
      ++pos_;
      FATHOM_ASSIGN_OR_RETURN(min, number());
      max = min;
      if (at(',')) {
        ++pos_;
        max = -1;
        if (!at('}')) {
          FATHOM_ASSIGN_OR_RETURN(max, number());
        }
      }
      if (!at('}')) return error("unterminated {...} quantifier");
      ++pos_;
      if (max >= 0 && max < min) return error("{n,m} with m < n");
    } else {
      return atom;
    }
    if (at('?')) ++pos_;  // lazy: the same language
    if (at('+')) return error("possessive quantifiers are not supported");
    if (atom.nullable && (max < 0 || max > 1))
      return error("a repeated group that can match nothing is not supported");
    FATHOM_ASSIGN_OR_RETURN(RuleId r, b_.repeat(sub_name(), atom.seq, min, max));
    return Fragment{{GrammarBuilder::ref(r)}, atom.nullable || min == 0};
  }

  Fragment chars(const CharClass& set) { return {char_symbols(b_, set, ctx_, sub_name()), false}; }

  Result<Fragment> single() {
    const uint32_t c = cps_[pos_++];
    switch (c) {
      case '(':
        return group();
      case '[': {
        FATHOM_ASSIGN_OR_RETURN(CharClass set, klass());
        if (set.empty()) return error("a class that matches nothing");
        return chars(set);
      }
      case '.': {
        CharClass not_line;
        for (uint32_t n : {0x0Au, 0x0Du, 0x2028u, 0x2029u}) not_line.add(n, n);
        return chars(not_line.complement());
      }
      case '\\': {
        FATHOM_ASSIGN_OR_RETURN(CharClass set, escape(false));
        return chars(set);
      }
      case '^':
      case '$':
        return error("anchors inside the pattern are not supported");
      case '*':
      case '+':
      case '?':
      case '{':
        return error("nothing to repeat before '" + std::string(1, static_cast<char>(c)) + "'");
      case ')':
        return error("unbalanced ')'");
      default:
        return Fragment{b_.literal(encode_char(c, ctx_)), false};
    }
  }

  Result<Fragment> group() {
    if (at('?')) {
      ++pos_;
      if (at(':')) {
        ++pos_;
      } else if (at('<') && pos_ + 1 < cps_.size() && cps_[pos_ + 1] != '=' &&
                 cps_[pos_ + 1] != '!') {
        while (!done() && !at('>')) ++pos_;  // a named group: the name does not matter here
        if (done()) return error("unterminated group name");
        ++pos_;
      } else {
        return error("lookaround and inline flags ((?=, (?!, (?<=, (?i) ...) are not supported");
      }
    }
    FATHOM_ASSIGN_OR_RETURN(std::vector<Fragment> alts, alternation());
    if (!at(')')) return error("missing ')'");
    ++pos_;
    if (alts.size() == 1) return std::move(alts.front());
    Fragment out;
    out.nullable = false;
    std::vector<Sequence> seqs;
    for (Fragment& f : alts) {
      out.nullable = out.nullable || f.nullable;
      seqs.push_back(std::move(f.seq));
    }
    out.seq = {GrammarBuilder::ref(b_.rule(sub_name(), std::move(seqs)))};
    return out;
  }

  Result<uint32_t> hex(size_t digits) {
    uint32_t v = 0;
    for (size_t k = 0; k < digits; ++k) {
      if (done()) return error("a short \\x or \\u escape");
      const uint32_t h = cps_[pos_++];
      const int d = h >= '0' && h <= '9'   ? int(h - '0')
                    : h >= 'a' && h <= 'f' ? int(h - 'a' + 10)
                    : h >= 'A' && h <= 'F' ? int(h - 'A' + 10)
                                           : -1;
      if (d < 0) return error("a bad hex digit in an escape");
      v = v * 16 + static_cast<uint32_t>(d);
    }
    return v;
  }

  // After a backslash: the class it stands for (one character for most escapes).
  Result<CharClass> escape(bool in_class) {
    if (done()) return error("a pattern may not end with '\\'");
    const uint32_t c = cps_[pos_++];
    switch (c) {
      case 'd':
        return CharClass::range('0', '9');
      case 'D':
        return CharClass::range('0', '9').complement();
      case 'w':
        return word_class();
      case 'W':
        return word_class().complement();
      case 's':
        return space_class();
      case 'S':
        return space_class().complement();
      case 'n':
        return CharClass::of('\n');
      case 'r':
        return CharClass::of('\r');
      case 't':
        return CharClass::of('\t');
      case 'f':
        return CharClass::of('\f');
      case 'v':
        return CharClass::of('\v');
      case '0':
        return CharClass::of(0);
      case 'x': {
        FATHOM_ASSIGN_OR_RETURN(uint32_t v, hex(2));
        return CharClass::of(v);
      }
      case 'u': {
        FATHOM_ASSIGN_OR_RETURN(uint32_t v, hex(4));
        if (v >= 0xD800 && v <= 0xDFFF) return error("surrogate escapes are not supported");
        return CharClass::of(v);
      }
      case 'b':
        if (in_class) return CharClass::of('\b');
        return error("word boundaries (\\b) are not supported");
      case 'B':
        return error("word boundaries (\\B) are not supported");
      case 'p':
      case 'P':
        return error("Unicode property classes (\\p{...}) are not supported");
      case 'k':
        return error("backreferences are not supported");
      case 'c':
        return error("control escapes (\\c) are not supported");
      default:
        if (c >= '1' && c <= '9') return error("backreferences are not supported");
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
          return error("the escape \\" + std::string(1, static_cast<char>(c)) +
                       " is not supported");
        return CharClass::of(c);
    }
  }

  // After '[': up to and including ']'.
  Result<CharClass> klass() {
    bool negate = false;
    if (at('^')) {
      negate = true;
      ++pos_;
    }
    CharClass set;
    while (!at(']')) {
      if (done()) return error("missing ']'");
      FATHOM_ASSIGN_OR_RETURN(CharClass lo, class_atom());
      if (at('-') && pos_ + 1 < cps_.size() && cps_[pos_ + 1] != ']') {
        ++pos_;
        FATHOM_ASSIGN_OR_RETURN(CharClass hi, class_atom());
        const auto& a = lo.ranges();
        const auto& z = hi.ranges();
        if (a.size() != 1 || z.size() != 1 || a[0].first != a[0].second ||
            z[0].first != z[0].second)
          return error("a class range needs single characters at both ends");
        if (z[0].first < a[0].first) return error("a class range out of order");
        set.add(a[0].first, z[0].first);
      } else {
        set.add(lo);
      }
    }
    ++pos_;
    return negate ? set.complement() : set;
  }

  Result<CharClass> class_atom() {
    const uint32_t c = cps_[pos_++];
    if (c == '\\') return escape(true);
    return CharClass::of(c);
  }

  GrammarBuilder& b_;
  TextContext ctx_;
  std::string name_;
  std::vector<uint32_t> cps_;
  size_t pos_ = 0;
  int counter_ = 0;
};

}  // namespace

Result<RuleId> compile_regex(GrammarBuilder& b, std::string_view pattern, TextContext ctx,
                             const std::string& name) {
  return RegexCompiler(b, ctx, name).run(pattern);
}

Result<Grammar> regex_grammar(std::string_view pattern) {
  GrammarBuilder b;
  FATHOM_ASSIGN_OR_RETURN(RuleId root, compile_regex(b, pattern, TextContext::kRaw, "root"));
  return b.build(root);
}

Result<Grammar> choice_grammar(const std::vector<std::string>& choices) {
  if (choices.empty()) return invalid_argument("guided_choice must list at least one choice");
  GrammarBuilder b;
  std::vector<Sequence> alts;
  for (const std::string& c : choices) {
    if (c.empty()) return invalid_argument("guided_choice entries must not be empty");
    alts.push_back(b.literal(c));
  }
  return b.build(b.rule("root", std::move(alts)));
}

}  // namespace fathom::grammar
