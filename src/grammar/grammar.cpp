#include "grammar/grammar.h"

#include <algorithm>

namespace fathom::grammar {
namespace {

std::string byte_name(int b) {
  if (b >= 0x21 && b < 0x7F && b != '\\' && b != ']' && b != '-' && b != '[')
    return std::string(1, static_cast<char>(b));
  char buf[8];
  std::snprintf(buf, sizeof(buf), "\\x%02X", b);
  return buf;
}

std::string set_text(const ByteSet& s) {
  std::string out = "[";
  for (int b = 0; b < 256;) {
    if (!s.has(static_cast<uint8_t>(b))) {
      ++b;
      continue;
    }
    int e = b;
    while (e + 1 < 256 && s.has(static_cast<uint8_t>(e + 1))) ++e;
    out += byte_name(b);
    if (e > b) out += (e > b + 1 ? "-" : "") + byte_name(e);
    b = e + 1;
  }
  return out + "]";
}

}  // namespace

RuleId GrammarBuilder::new_rule(std::string name) {
  rules_.emplace_back();
  names_.push_back(std::move(name));
  return static_cast<RuleId>(rules_.size() - 1);
}

void GrammarBuilder::add(RuleId rule, Sequence alternative) {
  rules_[rule].push_back(std::move(alternative));
}

RuleId GrammarBuilder::rule(std::string name, std::vector<Sequence> alternatives) {
  const RuleId r = new_rule(std::move(name));
  rules_[r] = std::move(alternatives);
  return r;
}

Symbol GrammarBuilder::bytes(const ByteSet& set) {
  auto it = std::find(sets_.begin(), sets_.end(), set);
  if (it != sets_.end()) return {Symbol::kBytes, static_cast<uint32_t>(it - sets_.begin())};
  sets_.push_back(set);
  return {Symbol::kBytes, static_cast<uint32_t>(sets_.size() - 1)};
}

Sequence GrammarBuilder::literal(std::string_view text) {
  Sequence seq;
  for (char c : text) seq.push_back(bytes(ByteSet::of(static_cast<uint8_t>(c))));
  return seq;
}

Result<RuleId> GrammarBuilder::repeat(std::string name, const Sequence& item, int64_t min,
                                      int64_t max) {
  const int64_t optional = max < 0 ? 1 : max - min;
  if (min < 0 || optional < 0)
    return invalid_argument(name + ": the repetition bounds are inconsistent");
  if (static_cast<uint64_t>(optional) + rules_.size() > kMaxRules ||
      static_cast<uint64_t>(min) * std::max<size_t>(item.size(), 1) > kMaxRules)
    return invalid_argument(name + ": a repetition bound of " + std::to_string(std::max(min, max)) +
                            " is too large");
  Sequence body;
  for (int64_t i = 0; i < min; ++i) body.insert(body.end(), item.begin(), item.end());
  if (max < 0) {  // star: S ::= item S | ()
    const RuleId star = new_rule(name + "_star");
    Sequence again = item;
    again.push_back(ref(star));
    add(star, std::move(again));
    add(star, {});
    body.push_back(ref(star));
  } else if (optional > 0) {  // O_k ::= item O_{k-1} | ()
    RuleId inner = new_rule(name + "_opt1");
    add(inner, item);
    add(inner, {});
    for (int64_t k = 2; k <= optional; ++k) {
      const RuleId outer = new_rule(name + "_opt" + std::to_string(k));
      Sequence more = item;
      more.push_back(ref(inner));
      add(outer, std::move(more));
      add(outer, {});
      inner = outer;
    }
    body.push_back(ref(inner));
  }
  return rule(std::move(name), {std::move(body)});
}

Result<RuleId> GrammarBuilder::separated(std::string name, const Sequence& item,
                                         const Sequence& separator, int64_t min, int64_t max) {
  if (max == 0) return rule(std::move(name), {Sequence{}});
  Sequence pair = separator;
  pair.insert(pair.end(), item.begin(), item.end());
  FATHOM_ASSIGN_OR_RETURN(RuleId rest, repeat(name + "_rest", pair, std::max<int64_t>(min - 1, 0),
                                              max < 0 ? -1 : max - 1));
  Sequence some = item;
  some.push_back(ref(rest));
  std::vector<Sequence> alts = {std::move(some)};
  if (min == 0) alts.emplace_back();
  return rule(std::move(name), std::move(alts));
}

Result<Grammar> GrammarBuilder::build(RuleId root) const {
  const size_t n = rules_.size();
  if (root >= n) return invalid_argument("grammar: no root rule");
  for (size_t r = 0; r < n; ++r) {
    if (rules_[r].empty())
      return invalid_argument("grammar: rule " + names_[r] + " has no alternative");
    for (const Sequence& alt : rules_[r])
      for (const Symbol& s : alt)
        if ((s.kind == Symbol::kRule && s.index >= n) ||
            (s.kind == Symbol::kBytes && s.index >= sets_.size()))
          return invalid_argument("grammar: rule " + names_[r] + " refers to an unknown symbol");
  }
  // Nullable rules (can match nothing), to a fixed point.
  std::vector<char> nullable(n, 0);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t r = 0; r < n; ++r) {
      if (nullable[r]) continue;
      for (const Sequence& alt : rules_[r]) {
        const bool all = std::all_of(alt.begin(), alt.end(), [&](const Symbol& s) {
          return s.kind == Symbol::kRule && nullable[s.index];
        });
        if (all) {
          nullable[r] = 1;
          changed = true;
          break;
        }
      }
    }
  }
  // Left corners: r -> s when s can come first in r. A cycle would make matching loop forever.
  std::vector<std::vector<uint32_t>> left(n);
  for (size_t r = 0; r < n; ++r)
    for (const Sequence& alt : rules_[r])
      for (const Symbol& s : alt) {
        if (s.kind == Symbol::kBytes) break;
        left[r].push_back(s.index);
        if (!nullable[s.index]) break;
      }
  std::vector<char> color(n, 0);  // 0 new, 1 on the path, 2 done
  for (size_t start = 0; start < n; ++start) {
    if (color[start]) continue;
    std::vector<std::pair<uint32_t, size_t>> path = {{static_cast<uint32_t>(start), 0}};
    color[start] = 1;
    while (!path.empty()) {
      auto& [r, next] = path.back();
      if (next == left[r].size()) {
        color[r] = 2;
        path.pop_back();
        continue;
      }
      const uint32_t s = left[r][next++];
      if (color[s] == 1)
        return invalid_argument("grammar: rule " + names_[s] + " is left-recursive");
      if (color[s] == 0) {
        color[s] = 1;
        path.emplace_back(s, 0);
      }
    }
  }
  Grammar g;
  g.sets = sets_;
  g.names = names_;
  g.root = root;
  g.starts.resize(n);
  for (size_t r = 0; r < n; ++r)
    for (const Sequence& alt : rules_[r]) {
      g.starts[r].push_back(static_cast<uint32_t>(g.code.size()));
      for (const Symbol& s : alt)
        g.code.push_back(s.kind == Symbol::kRule ? (Grammar::kRuleBit | s.index) : s.index);
      g.code.push_back(Grammar::kEnd);
    }
  return g;
}

std::string Grammar::to_string() const {
  std::string out;
  for (size_t r = 0; r < starts.size(); ++r) {
    out += names[r] + " ::=";
    for (size_t a = 0; a < starts[r].size(); ++a) {
      if (a > 0) out += " |";
      if (code[starts[r][a]] == kEnd) out += " ()";
      for (uint32_t p = starts[r][a]; code[p] != kEnd; ++p)
        out += " " + (is_rule(code[p]) ? names[code[p] & ~kRuleBit] : set_text(sets[code[p]]));
    }
    out += "\n";
  }
  return out;
}

}  // namespace fathom::grammar
