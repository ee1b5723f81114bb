// Test helper: random strings a grammar accepts, by a random walk over the bytes it allows.
#pragma once

#include <random>
#include <string>
#include <vector>

#include "grammar/matcher.h"

namespace fathom::grammar::testing {

/// Bytes `m` may read next.
inline std::vector<uint8_t> allowed_bytes(Matcher& m) {
  std::vector<uint8_t> out;
  Matcher::State next;
  for (int b = 0; b < 256; ++b) {
    m.step(m.state(), static_cast<uint8_t>(b), next);
    if (!next.empty()) out.push_back(static_cast<uint8_t>(b));
  }
  return out;
}

/// A random string of the grammar; ends as soon as it may after `soft_len` bytes. Returns ""
/// with ok = false when the walk finds no way on (a grammar bug) or passes hard_len.
inline std::string random_walk(std::shared_ptr<const Grammar> g, std::mt19937& rng, size_t soft_len,
                               bool& ok, size_t hard_len = 100000) {
  Matcher m(std::move(g));
  std::string out;
  ok = true;
  while (!m.must_end()) {
    if (m.can_end() && (out.size() >= soft_len || rng() % 8 == 0)) return out;
    const std::vector<uint8_t> bytes = allowed_bytes(m);
    if (bytes.empty() || out.size() > hard_len) {
      ok = false;
      return out;
    }
    const uint8_t b = bytes[rng() % bytes.size()];
    out += static_cast<char>(b);
    if (!m.accept(std::string_view(&out.back(), 1))) {
      ok = false;
      return out;
    }
  }
  return out;
}

inline bool full_match(const Grammar& g, std::string_view text) {
  Matcher m(std::make_shared<const Grammar>(g));
  return m.accept(text) && m.can_end();
}

}  // namespace fathom::grammar::testing
