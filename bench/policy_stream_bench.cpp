// Cost of a tenant policy's content rules on a streamed answer (issue 17, item 3): every
// chat chunk is parsed and each choice's text so far is checked again (policy::StreamFilter),
// so the work per answer grows with the square of its length. Streams of 256, 1,024 and 4,096
// chunks of ~4 characters each (one token per chunk, as servers stream), no match, with 5
// blocked terms, with 2 PCRE2 patterns, and with both. Printed per answer and per chunk, beside
// the parse alone (what the filter adds on top of forwarding the chunk untouched).
//
//   build/dev/bench/policy_stream_bench [--seconds S]   (default 0.5 s per row)
#include <chrono>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gateway/policy/output_filter.h"

namespace {

using namespace fathom::gateway;
using Clock = std::chrono::steady_clock;

std::vector<std::string> chunks(int n) {
  static const char* kWords[] = {" the", " rev", "enue", " of",   " 2024", " grew", " by",
                                 " 12",  "%,",   " and", " 营收", "增长",  " more", " than"};
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i)
    out.push_back(nlohmann::json{
        {"id", "chatcmpl-1"},
        {"object", "chat.completion.chunk"},
        {"created", 1},
        {"model", "finance-lora"},
        {"choices",
         {{{"index", 0}, {"delta", {{"content", kWords[i % 14]}}}, {"finish_reason", nullptr}}}}}
                      .dump());
  return out;
}

policy::PoliciesConfig config(bool terms, bool patterns) {
  policy::PolicySpec s;
  if (terms)
    for (const char* t :
         {"insider tip", "机密", "guaranteed return", "wire it to", "off the books"})
      s.content.add_term(*classify::normalize_keyword(t));
  if (patterns) {
    s.content.patterns.patterns.push_back(*classify::compile_pattern(R"(\bACCT-\d{8}\b)"));
    s.content.patterns.patterns.push_back(*classify::compile_pattern(R"((?i)\bbuy (now|today)\b)"));
  }
  policy::PoliciesConfig c;
  c.tenants["t"] = s;
  return c;
}

// Best time of one pass over `events` (microseconds) within `seconds`.
template <class F>
double best_us(double seconds, F&& pass) {
  double best = 1e300;
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  do {
    const auto t0 = Clock::now();
    pass();
    best = std::min(best, std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  } while (Clock::now() < end);
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 0.5;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::atof(argv[i + 1]);
  std::printf("%-7s %-14s %12s %10s %13s %12s\n", "chunks", "rules", "us/answer", "us/chunk",
              "parse_us/chunk", "filter/parse");
  for (int n : {256, 1024, 4096}) {
    const std::vector<std::string> events = chunks(n);
    size_t sink = 0;  // keeps the parses
    const double parse_us = best_us(seconds, [&] {
      for (const std::string& e : events) sink += nlohmann::json::parse(e, nullptr, false).size();
    });
    for (const auto& [name, terms, patterns] :
         {std::tuple{"5 terms", true, false}, std::tuple{"2 patterns", false, true},
          std::tuple{"both", true, true}}) {
      const policy::PoliciesConfig cfg = config(terms, patterns);
      const policy::Policy p = policy::Policy::resolve(cfg, "t", "");
      bool cut = false;
      const double us = best_us(seconds, [&] {
        policy::StreamFilter f(p, "/v1/chat/completions");
        for (const std::string& e : events)
          cut |= !f.pass(nlohmann::json::parse(e, nullptr, false));
      });
      if (cut || sink == 0) std::printf("unexpected match, or nothing parsed\n");
      std::printf("%-7d %-14s %12.1f %10.2f %13.2f %11.1fx\n", n, name, us, us / n, parse_us / n,
                  us / parse_us);
    }
  }
  return 0;
}
