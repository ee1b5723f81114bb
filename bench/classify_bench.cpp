// Cost of request classification (issue 11): request_texts + classify over chat bodies of
// 1 KB, 16 KB and 256 KB of mixed English and Chinese prose with numbers in it (dates,
// prices, versions, order numbers: what the digit detectors must look at and reject), with
// no sensitive data and with some (a phone, an e-mail, an ID number per ~1 KB). Two configs:
// the detectors alone (`classification: {}`), and with 5 keywords and 2 PCRE2 patterns.
// Printed beside two costs the gateway pays anyway: its CPU per request measured with small
// bodies (docs/benchmarks.md, "Gateway": 245 us at 1,000 requests/s), and what grows with the
// body: parsing it (nlohmann, as GatewayService::route does) and writing it again for the
// upstream (ProxyCall), measured here on the same body.
//
//   build/classify/bench/classify_bench [--seconds S]   (default 0.5 s per row)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gateway/classify/classifier.h"

namespace {

using namespace fathom::gateway::classify;
using Clock = std::chrono::steady_clock;

constexpr double kGatewayCpuUsPerRequest = 245;  // docs/benchmarks.md, open loop, 1,000 req/s

// ~500 bytes of ordinary chat text: prose, a date, a price, a version, a time, an order
// number, code. Nothing in it may be flagged.
const char* kProse =
    "Please summarise the attached quarterly report (2024-03-31) and compare revenue of "
    "1,234,567.89 CNY with last year's. The build uses version 3.12.1 and ran at 14:05:33; "
    "order 2024033100017 shipped. 请用中文总结第三季度的销售情况，并列出前三名产品的同比增长率。"
    "for (int i = 0; i < n; ++i) sum += a[i]; std::vector<int> v; ";
// Sensitive snippets, one of which replaces a prose line every ~1 KB in the "hits" bodies.
const char* kHits[] = {"联系电话 13812345678，", "mail zhang.san@example.com.cn ",
                       "身份证 11010519491231002X ", "server 10.12.0.7 ",
                       "card 4111 1111 1111 1111 "};

nlohmann::json chat_body(size_t bytes, bool hits) {
  nlohmann::json messages = nlohmann::json::array();
  messages.push_back({{"role", "system"}, {"content", "You are a helpful assistant."}});
  std::string content;
  size_t done = 0, next_hit = 0;  // bytes in earlier messages; hits placed so far
  while (content.size() < bytes) {
    content += kProse;
    if (hits && (done + content.size()) / 1024 >= next_hit) content += kHits[next_hit++ % 5];
    if (content.size() >= 4096 || content.size() >= bytes) {  // several turns, as chats have
      messages.push_back(
          {{"role", messages.size() % 2 ? "user" : "assistant"}, {"content", content}});
      bytes -= std::min(bytes, content.size());
      done += content.size();
      content.clear();
    }
  }
  return {{"model", "deepseek-chat"}, {"messages", messages}, {"temperature", 0.7}};
}

ClassifierConfig full_config() {
  ClassifierConfig c;
  for (const char* k : {"confidential", "机密", "internal only", "project falcon", "绝密"})
    c.keywords.push_back(*normalize_keyword(k));
  c.patterns.push_back(*compile_pattern(R"(\bPRJ-\d{4}\b)"));
  c.patterns.push_back(*compile_pattern(R"((?i)\bdo not (share|distribute)\b)"));
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 0.5;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::atof(argv[i + 1]);
  const ClassifierConfig detectors_only;
  const ClassifierConfig full = full_config();
  std::printf("%-7s %-5s %-10s %10s %9s %8s %9s %11s %8s  %s\n", "body", "hits", "config",
              "text_bytes", "us/req", "MB/s", "of_245us", "parse+dump", "of_that",
              "sensitive/kinds");
  for (size_t kb : {1, 16, 256}) {
    for (bool hits : {false, true}) {
      const nlohmann::json body = chat_body(kb * 1024, hits);
      size_t text_bytes = 0;
      for (std::string_view t : request_texts(body)) text_bytes += t.size();
      const std::string wire = body.dump();
      double parse_dump_us = 1e30;
      for (int i = 0; i < 20; ++i) {
        const auto t0 = Clock::now();
        const auto parsed = nlohmann::json::parse(wire);
        const std::string again = parsed.dump();
        parse_dump_us = std::min(
            parse_dump_us, std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
        if (again.size() != wire.size()) return 1;
      }
      for (const auto* cfg : {&detectors_only, &full}) {
        Classification c;
        double best_us = 1e30;
        const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
        int runs = 0;
        do {  // best of many: other processes on the machine only make a run slower
          const auto t0 = Clock::now();
          c = classify({.texts = request_texts(body)}, *cfg);
          best_us = std::min(best_us,
                             std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
          ++runs;
        } while (Clock::now() < deadline || runs < 3);
        int fired = 0;
        for (int32_t n : c.detector_counts) fired += n;
        std::printf("%4zu KB %-5s %-10s %10zu %9.2f %8.1f %8.1f%% %11.2f %7.1f%%  %s/%d\n", kb,
                    hits ? "yes" : "no", cfg == &full ? "+kw+regex" : "detectors", text_bytes,
                    best_us, static_cast<double>(text_bytes) / best_us,
                    100.0 * best_us / kGatewayCpuUsPerRequest, parse_dump_us,
                    100.0 * best_us / parse_dump_us, c.sensitive ? "yes" : "no", fired);
      }
    }
  }
  return 0;
}
