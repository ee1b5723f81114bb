#include "grammar/matcher.h"

#include <algorithm>

namespace fathom::grammar {
namespace {

void sort_unique(std::vector<uint32_t>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

}  // namespace

Matcher::Matcher(std::shared_ptr<const Grammar> g) : g_(std::move(g)) {
  nodes_.push_back({Grammar::kEnd, kNone});  // kAccept
  for (uint32_t start : g_->starts[g_->root]) expand(node(start, kNone), state_);
  sort_unique(state_);
}

uint32_t Matcher::node(uint32_t pos, uint32_t parent) {
  const uint64_t key = (uint64_t{pos} << 32) | parent;
  auto [it, inserted] = node_index_.try_emplace(key, static_cast<uint32_t>(nodes_.size()));
  if (inserted) nodes_.push_back({pos, parent});
  return it->second;
}

void Matcher::expand(uint32_t id, std::vector<uint32_t>& out) {
  const Node n = nodes_[id];
  const uint32_t c = g_->code[n.pos];
  if (c == Grammar::kEnd) {
    if (n.parent == kNone) {
      out.push_back(kAccept);
      return;
    }
    const Node p = nodes_[n.parent];  // sits on the rule reference that called us
    expand(node(p.pos + 1, p.parent), out);
    return;
  }
  if (!Grammar::is_rule(c)) {
    out.push_back(id);
    return;
  }
  // A reference in tail position returns straight to our caller, so repetition written as
  // right recursion keeps the stack flat.
  const uint32_t caller = g_->code[n.pos + 1] == Grammar::kEnd ? n.parent : id;
  for (uint32_t start : g_->starts[c & ~Grammar::kRuleBit]) expand(node(start, caller), out);
}

const std::vector<uint32_t>& Matcher::transition(uint32_t id, uint8_t b) {
  const uint64_t key = (uint64_t{id} << 8) | b;
  auto it = transition_index_.find(key);
  if (it != transition_index_.end()) return transitions_[it->second];
  std::vector<uint32_t> out;
  if (id != kAccept) {
    const Node n = nodes_[id];
    if (g_->sets[g_->code[n.pos]].has(b)) expand(node(n.pos + 1, n.parent), out);
    sort_unique(out);
  }
  transition_index_.emplace(key, static_cast<uint32_t>(transitions_.size()));
  transitions_.push_back(std::move(out));
  return transitions_.back();
}

void Matcher::step(const State& from, uint8_t b, State& to) {
  to.clear();
  int contributing = 0;
  for (uint32_t id : from) {
    // Most stacks reject most bytes: test the byte set before looking up the transition.
    if (id == kAccept || !g_->sets[g_->code[nodes_[id].pos]].has(b)) continue;
    const auto& t = transition(id, b);
    if (t.empty()) continue;
    to.insert(to.end(), t.begin(), t.end());
    ++contributing;
  }
  if (contributing > 1) sort_unique(to);
}

bool Matcher::accept(std::string_view bytes) {
  State cur = state_;
  for (char ch : bytes) {
    step(cur, static_cast<uint8_t>(ch), scratch_);
    if (scratch_.empty()) return false;
    cur.swap(scratch_);
  }
  state_ = std::move(cur);
  return true;
}

}  // namespace fathom::grammar
