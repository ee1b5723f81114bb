#include "gateway/classify/classifier.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "gateway/classify/detectors.h"

namespace fathom::gateway::classify {
namespace {

// ---- check digits, computed here from the standards' tables, independently of the code ----

// GB 11643-1999: weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2; check = "10X98765432"[sum % 11].
std::string make_id(const std::string& first17) {
  static const int kW[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += (first17[i] - '0') * kW[i];
  return first17 + "10X98765432"[sum % 11];
}

// GB 32100-2015: weights 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28 over the 31-char
// alphabet; check = 31 - sum % 31 (31 written as 0).
std::string make_uscc(const std::string& first17) {
  static const std::string kA = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  static const int kW[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += static_cast<int>(kA.find(first17[i])) * kW[i];
  return first17 + kA[(31 - sum % 31) % 31];
}

// Luhn: append the digit that makes the sum of (doubled every second from the right) % 10 == 0.
std::string make_card(const std::string& prefix) {
  for (char d = '0'; d <= '9'; ++d) {
    const std::string s = prefix + d;
    int sum = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      int v = s[s.size() - 1 - i] - '0';
      if (i % 2 == 1) v = v * 2 > 9 ? v * 2 - 9 : v * 2;
      sum += v;
    }
    if (sum % 10 == 0) return s;
  }
  return "";
}

// The same string with one digit changed (so its check digit no longer fits).
std::string flip(std::string s, size_t i) {
  s[i] = s[i] == '9' ? '0' : static_cast<char>(s[i] + 1);
  return s;
}

std::vector<DetectorKind> kinds(std::string_view text) {
  std::vector<DetectorKind> out;
  for (const Match& m : detect(text)) out.push_back(m.kind);
  return out;
}

using K = DetectorKind;
using Kinds = std::vector<DetectorKind>;

TEST(CheckDigitsTest, MatchTheStandardsWorkedExamples) {
  EXPECT_EQ(cn_id_check_char("11010519491231002"), 'X');  // GB 11643-1999's own example
  EXPECT_EQ(make_id("11010519491231002"), "11010519491231002X");
  EXPECT_EQ(uscc_check_char("91350100M000100Y4"), '3');
  EXPECT_EQ(make_uscc("91350100M000100Y4"), "91350100M000100Y43");
  EXPECT_TRUE(luhn_valid("4111111111111111"));
  EXPECT_FALSE(luhn_valid("4111111111111112"));
  EXPECT_EQ(cn_id_check_char("1101051949123100"), 0);  // too short
  EXPECT_EQ(uscc_check_char("91350100I000100Y4"), 0);  // I is not in the alphabet
}

TEST(CnIdCardTest, ValidCheckDigitMatchesAndAFlippedDigitDoesNot) {
  for (const std::string first17 :
       {"11010519491231002", "44052419800101001", "31011520000229123", "51010019991231045"}) {
    const std::string id = make_id(first17);
    EXPECT_EQ(kinds("身份证号：" + id + "。"), Kinds{K::kCnIdCard}) << id;
    EXPECT_EQ(kinds("ID " + id), Kinds{K::kCnIdCard}) << id;
    EXPECT_TRUE(kinds("ID " + flip(id, 16)).empty()) << flip(id, 16);
  }
  const std::string x = make_id("11010519491231002");  // ends in X
  std::string lower = x;
  lower.back() = 'x';
  EXPECT_EQ(kinds(lower), Kinds{K::kCnIdCard});
}

TEST(CnIdCardTest, ImplausibleDatesAndRegionsDoNotMatch) {
  EXPECT_TRUE(kinds(make_id("11010519490230002")).empty());             // 30 February
  EXPECT_TRUE(kinds(make_id("11010519000229002")).empty());             // 1900 was not a leap year
  EXPECT_EQ(kinds(make_id("11010520000229002")), Kinds{K::kCnIdCard});  // 2000 was
  EXPECT_TRUE(kinds(make_id("11010518991231002")).empty());             // born before 1900
  EXPECT_TRUE(kinds(make_id("99010519491231002")).size() == 1);         // 9x: permanent residents
  EXPECT_TRUE(kinds(make_id("01010519491231002")).empty());             // no province 01
}

TEST(CnIdCardTest, DigitsInsideALongerRunDoNotMatch) {
  const std::string id = make_id("11010519491231002");
  EXPECT_TRUE(kinds("7" + id).empty());
  EXPECT_TRUE(kinds(id + "7").empty());
  EXPECT_TRUE(kinds("order " + id + "12345").empty());
  EXPECT_TRUE(kinds("sha" + id + "ab").empty());  // letters continue the token too
}

TEST(CnUsccTest, ValidCheckCharacterMatchesAndAFlippedOneDoesNot) {
  for (const std::string first17 :
       {"91350100M000100Y4", "9144030071526726X", "12100000400000624", "52110000MJ0125432"}) {
    const std::string code = make_uscc(first17);
    EXPECT_EQ(kinds("统一社会信用代码 " + code), Kinds{K::kCnUscc}) << code;
    EXPECT_TRUE(kinds("code " + flip(code, 10)).empty()) << flip(code, 10);
  }
  EXPECT_TRUE(kinds("91350100M000100Y43A").empty());  // a longer token
  EXPECT_TRUE(kinds("91350100m000100y43").empty());   // the standard's letters are capitals
}

TEST(PassportTest, ChineseNumbersNeedNoKeywordOthersDo) {
  EXPECT_EQ(kinds("E12345678"), Kinds{K::kPassport});
  EXPECT_EQ(kinds("number G87654321."), Kinds{K::kPassport});
  EXPECT_TRUE(kinds("E1234567").empty());       // 7 digits
  EXPECT_TRUE(kinds("XE12345678").empty());     // part of a longer token
  EXPECT_TRUE(kinds("ref AB1234567").empty());  // no keyword near
  EXPECT_EQ(kinds("Passport No.: AB1234567"), Kinds{K::kPassport});
  EXPECT_EQ(kinds("PASSPORT EA1234567"), Kinds{K::kPassport});
  EXPECT_EQ(kinds("护照号码：K1234567"), Kinds{K::kPassport});
  EXPECT_EQ(kinds("K1234567 (護照)"), Kinds{K::kPassport});
  EXPECT_TRUE(kinds("passport" + std::string(60, ' ') + "K1234567").empty());  // too far
}

TEST(CnMobileTest, ElevenDigitsWithOptionalPrefixAndGroups) {
  EXPECT_EQ(kinds("call 13812345678"), Kinds{K::kCnMobile});
  EXPECT_EQ(kinds("手机19912345678，"), Kinds{K::kCnMobile});
  EXPECT_EQ(kinds("+8613812345678"), Kinds{K::kCnMobile});
  EXPECT_EQ(kinds("008613812345678"), Kinds{K::kCnMobile});
  EXPECT_EQ(kinds("138 1234 5678"), Kinds{K::kCnMobile});
  EXPECT_EQ(kinds("138-1234-5678"), Kinds{K::kCnMobile});
  EXPECT_EQ(kinds("+86 138 1234 5678"), Kinds{K::kCnMobile});
  auto spans = detect("tel: +86 13812345678");
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].begin, 5u);               // the prefix belongs to the number
  EXPECT_TRUE(kinds("12812345678").empty());   // 12x is not a mobile prefix
  EXPECT_TRUE(kinds("113812345678").empty());  // inside a longer run
  EXPECT_TRUE(detect("13812345678901", detector_bit(K::kCnMobile)).empty());
  EXPECT_TRUE(kinds("138 1234 5678 9").empty());  // a longer chain of groups
  EXPECT_TRUE(kinds("1380123456").empty());       // 10 digits
}

TEST(BankCardTest, LuhnValidCardsInAnyCommonLayout) {
  const std::string visa = make_card("411111111111111");   // 16
  const std::string up = make_card("622202123456789012");  // 19, UnionPay
  const std::string amex = make_card("37828224631000");    // 15
  EXPECT_EQ(kinds("card " + visa), Kinds{K::kBankCard});
  EXPECT_EQ(kinds("卡号" + up), Kinds{K::kBankCard});
  EXPECT_EQ(kinds(visa.substr(0, 4) + " " + visa.substr(4, 4) + " " + visa.substr(8, 4) + " " +
                  visa.substr(12)),
            Kinds{K::kBankCard});
  EXPECT_EQ(kinds(up.substr(0, 4) + "-" + up.substr(4, 4) + "-" + up.substr(8, 4) + "-" +
                  up.substr(12, 4) + "-" + up.substr(16)),
            Kinds{K::kBankCard});
  EXPECT_EQ(kinds(amex.substr(0, 4) + " " + amex.substr(4, 6) + " " + amex.substr(10)),
            Kinds{K::kBankCard});
  for (const std::string& card : {visa, up, amex}) {
    EXPECT_TRUE(kinds("card " + flip(card, 3)).empty()) << flip(card, 3);
    EXPECT_TRUE(kinds("9" + card).empty());  // inside a longer run
  }
  EXPECT_TRUE(kinds("0000000000000000").empty());  // Luhn-valid placeholder
  EXPECT_TRUE(kinds("4444 4444 4444 4444").empty());
  EXPECT_TRUE(kinds(visa.substr(0, 4) + " " + visa.substr(4, 4) + "-" + visa.substr(8)).empty());
}

TEST(EmailTest, AddressesInText) {
  EXPECT_EQ(kinds("mail zhang.san+tag@example.com.cn today"), Kinds{K::kEmail});
  auto m = detect("请发至 li_si@corp-mail.example.org。");
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].end - m[0].begin, std::string_view("li_si@corp-mail.example.org").size());
  auto stop = detect("Write to a@b.io.");
  ASSERT_EQ(stop.size(), 1u);
  EXPECT_EQ(stop[0].end, std::string_view("Write to a@b.io").size());
  EXPECT_TRUE(kinds("@mention").empty());
  EXPECT_TRUE(kinds("user@localhost").empty());
  EXPECT_TRUE(kinds("a@b.c1").empty());
  EXPECT_TRUE(kinds("a..b@example.com").empty());
  EXPECT_TRUE(kinds("a@-example.com").empty());
  EXPECT_TRUE(kinds("pkg@1.2.3").empty());
}

TEST(IpTest, Ipv4OctetsAndWhichRangesCount) {
  EXPECT_EQ(kinds("server 8.8.8.8 down"), Kinds{K::kIpv4});
  EXPECT_EQ(kinds("db at 10.12.0.7:5432"), Kinds{K::kIpv4});  // private ranges count
  EXPECT_EQ(kinds("192.168.1.20/24"), Kinds{K::kIpv4});
  EXPECT_TRUE(kinds("256.1.1.1").empty());
  EXPECT_TRUE(kinds("1.2.3").empty());
  EXPECT_TRUE(kinds("1.2.3.4.5").empty());
  EXPECT_TRUE(kinds("v1.2.3.4").empty());
  EXPECT_TRUE(kinds("01.2.3.4").empty());
  EXPECT_TRUE(kinds("127.0.0.1").empty());
  EXPECT_TRUE(kinds("0.0.0.0").empty());
  EXPECT_TRUE(kinds("255.255.255.0").empty());
  EXPECT_TRUE(kinds("192.0.2.1 and 203.0.113.9").empty());  // documentation ranges
  EXPECT_EQ(kinds("ends 8.8.4.4."), Kinds{K::kIpv4});
}

TEST(IpTest, Ipv6FormsAndWhatIsNotAnAddress) {
  EXPECT_EQ(kinds("host 2408:8756:c52:1aec:0:ff:b013:5a11 up"), Kinds{K::kIpv6});
  EXPECT_EQ(kinds("[2409:8a00:1::2]:443"), Kinds{K::kIpv6});
  EXPECT_EQ(kinds("ula fd12:3456:789a::1"), Kinds{K::kIpv6});
  EXPECT_EQ(kinds("ip:2409:8a00:1::2"), Kinds{K::kIpv6});
  EXPECT_EQ(kinds("::ffff:10.1.2.3"), Kinds{K::kIpv6});  // the IPv4 tail is not counted twice
  EXPECT_TRUE(kinds("::1").empty());
  EXPECT_TRUE(kinds("fe80::1:2:3").empty());
  EXPECT_TRUE(kinds("2001:db8::1:2").empty());
  EXPECT_TRUE(kinds("std::vector<int> a; Foo::Bar").empty());
  EXPECT_TRUE(kinds("dead::beef").empty());
  EXPECT_TRUE(kinds("12:30:45").empty());
  EXPECT_TRUE(kinds("00:1a:2b:3c:4d:5e").empty());  // a MAC address
  EXPECT_TRUE(kinds("1:2:3:4:5:6:7:8:9").empty());
  EXPECT_TRUE(kinds("2409::8a00::1").empty());
}

TEST(DetectTest, OverlapsGoToTheHigherPriorityKindAndDisabledKindsAreSkipped) {
  // An ID number whose 18 digits also pass Luhn counts once, as an ID.
  std::string id;
  for (int n = 0; n < 1000 && id.empty(); ++n) {
    char buf[16];  // room for any int: -Wformat-truncation in the Debug (asan) build
    std::snprintf(buf, sizeof(buf), "%03d", n);
    const std::string c = make_id(std::string("11010519900101") + buf);
    if (c.back() != 'X' && luhn_valid(c)) id = c;
  }
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(kinds(id), Kinds{K::kCnIdCard});
  EXPECT_EQ(detect(id, detector_bit(K::kBankCard)).size(), 1u);
  EXPECT_TRUE(detect("13812345678", kAllDetectors & ~detector_bit(K::kCnMobile)).empty());
  EXPECT_TRUE(kinds("").empty());
}

// ---- classify ----

ClassifierConfig config() { return {}; }

TEST(ClassifyTest, PlainTextIsNotSensitiveAndCountsEveryDetector) {
  const ClassifierConfig cfg = config();
  Classification c = classify({.texts = {"What is the capital of France?"}}, cfg);
  EXPECT_FALSE(c.sensitive);
  EXPECT_EQ(c.reasons, 0);

  c = classify({.texts = {"call 13812345678 or 13912345678", "mail a@example.com"}}, cfg);
  EXPECT_TRUE(c.sensitive);
  EXPECT_TRUE(c.has(kReasonDetector));
  EXPECT_EQ(c.detector_counts[static_cast<int>(K::kCnMobile)], 2);
  EXPECT_EQ(c.detector_counts[static_cast<int>(K::kEmail)], 1);
}

TEST(ClassifyTest, DisabledDetectorsDoNotFire) {
  ClassifierConfig cfg = config();
  cfg.detectors = detector_bit(K::kEmail);
  EXPECT_FALSE(classify({.texts = {"13812345678"}}, cfg).sensitive);
  EXPECT_TRUE(classify({.texts = {"a@example.com"}}, cfg).sensitive);
}

TEST(ClassifyTest, KeywordsAreCaseInsensitiveAndUtf8Safe) {
  ClassifierConfig cfg = config();
  cfg.detectors = 0;
  for (const char* k : {"Project Falcon", "机密", "ÜBER"})
    cfg.keywords.push_back(*normalize_keyword(k));
  EXPECT_EQ(cfg.keywords[0], "project falcon");
  EXPECT_EQ(cfg.keywords[2], "Über");  // only ASCII letters fold

  Classification c =
      classify({.texts = {"status of PROJECT FALCON?", "这是机密文件，机密。"}}, cfg);
  EXPECT_TRUE(c.has(kReasonKeyword));
  EXPECT_EQ(c.keyword_count, 3);
  EXPECT_FALSE(classify({.texts = {"project falco", "机 密"}}, cfg).sensitive);
  // "机" is E6 9C BA: a keyword of its last two bytes is not UTF-8, so none matches mid-character.
  EXPECT_FALSE(normalize_keyword("\x9c\xba").ok());
  EXPECT_FALSE(normalize_keyword("").ok());
  EXPECT_FALSE(normalize_keyword("\xc0\x80").ok());  // overlong
}

TEST(ClassifyTest, PatternsCountMatchesAndBadOnesAreConfigErrors) {
  ClassifierConfig cfg = config();
  cfg.detectors = 0;
  auto p = compile_pattern(R"(\bPRJ-\d{4}\b)");
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  cfg.patterns.push_back(*p);
  Classification c = classify({.texts = {"see PRJ-1234 and PRJ-5678, not PRJ-12"}}, cfg);
  EXPECT_TRUE(c.has(kReasonPattern));
  EXPECT_EQ(c.pattern_count, 2);
  EXPECT_FALSE(classify({.texts = {"PRJ-123456"}}, cfg).sensitive);

  auto bad = compile_pattern("(unclosed");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("not a valid regular expression"), std::string::npos);
  EXPECT_FALSE(compile_pattern("a*").ok());  // matches the empty string
  EXPECT_EQ(pattern_source(**p), R"(\bPRJ-\d{4}\b)");
}

TEST(ClassifyTest, APatternThatGivesUpFailsClosed) {
  ClassifierConfig cfg = config();
  cfg.detectors = 0;
  cfg.patterns.push_back(*compile_pattern("(a+)+b"));  // catastrophic backtracking
  const Classification c = classify({.texts = {std::string(40, 'a') + "c b"}}, cfg);
  EXPECT_GT(c.pattern_errors, 0);
  EXPECT_TRUE(c.sensitive);
}

TEST(ClassifyTest, AlwaysSensitiveForATenantOrAKey) {
  ClassifierConfig cfg = config();
  cfg.always_sensitive_keys = {"key-7"};
  EXPECT_FALSE(classify({.texts = {"hello"}, .key_id = "key-8"}, cfg).sensitive);
  Classification c = classify({.texts = {"hello"}, .key_id = "key-7"}, cfg);
  EXPECT_TRUE(c.sensitive);
  EXPECT_EQ(c.reasons, kReasonAlwaysSensitive);
  cfg.always_sensitive = true;
  EXPECT_TRUE(classify({.texts = {}}, cfg).has(kReasonAlwaysSensitive));
}

TEST(ClassifyTest, TheHeaderRaisesButNeverLowers) {
  const ClassifierConfig cfg = config();
  Classification c = classify({.texts = {"hello"}, .sensitivity_header = " Sensitive "}, cfg);
  EXPECT_TRUE(c.sensitive);
  EXPECT_EQ(c.reasons, kReasonHeader);
  for (const char* v : {"non-sensitive", "public", "false", "none", ""}) {
    EXPECT_FALSE(classify({.texts = {"hello"}, .sensitivity_header = v}, cfg).sensitive) << v;
    c = classify({.texts = {"13812345678"}, .sensitivity_header = v}, cfg);
    EXPECT_TRUE(c.sensitive) << v;
    EXPECT_EQ(c.reasons, kReasonDetector) << v;
  }
}

// ---- request_texts ----

std::vector<std::string> texts_of(const nlohmann::json& body) {
  std::vector<std::string> out;
  for (std::string_view t : request_texts(body)) out.emplace_back(t);
  return out;
}
using Strings = std::vector<std::string>;

TEST(RequestTextsTest, ChatMessagesPartsToolCallsAndResults) {
  const auto body = nlohmann::json::parse(R"({
    "model": "m", "user": "u-1",
    "messages": [
      {"role": "system", "content": "be brief"},
      {"role": "user", "content": [{"type": "text", "text": "look at"},
                                   {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]},
      {"role": "assistant", "content": null, "reasoning_content": "thinking",
       "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"x\":1}"}}]},
      {"role": "tool", "tool_call_id": "c1", "content": "result text"},
      {"role": "assistant", "refusal": "no", "function_call": {"name": "g", "arguments": "{}"}}
    ]})");
  EXPECT_EQ(texts_of(body),
            (Strings{"be brief", "look at", "thinking", "{\"x\":1}", "result text", "no", "{}"}));
}

TEST(RequestTextsTest, CompletionsPromptAndSuffix) {
  EXPECT_EQ(texts_of({{"prompt", "once upon"}, {"suffix", "the end"}}),
            (Strings{"once upon", "the end"}));
  EXPECT_EQ(texts_of({{"prompt", {"a", "b", 3, {1, 2}}}}), (Strings{"a", "b"}));
  EXPECT_TRUE(texts_of({{"prompt", {1, 2, 3}}}).empty());  // token ids
}

TEST(RequestTextsTest, ResponsesInputAndInstructions) {
  EXPECT_EQ(texts_of({{"instructions", "sys"}, {"input", "hi"}}), (Strings{"sys", "hi"}));
  const auto body = nlohmann::json::parse(R"({"input": [
      {"role": "user", "content": [{"type": "input_text", "text": "question"},
                                   {"type": "input_image", "image_url": "https://x/y.png"}]},
      {"role": "assistant", "content": "easy message"},
      {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{\"q\":2}"},
      {"type": "function_call_output", "call_id": "c", "output": "tool said"},
      {"type": "function_call_output", "call_id": "d", "output": [{"type": "input_text", "text": "parts"}]},
      {"type": "custom_tool_call", "call_id": "e", "name": "g", "input": "raw input"}
    ]})");
  EXPECT_EQ(texts_of(body),
            (Strings{"question", "easy message", "{\"q\":2}", "tool said", "parts", "raw input"}));
}

TEST(RequestTextsTest, MalformedShapesAreSkippedNeverThrown) {
  const char* bodies[] = {
      "null",
      "[]",
      "\"text\"",
      "42",
      R"({"messages": "hi"})",
      R"({"messages": [1, null, "x", []]})",
      R"({"messages": [{"content": 5}, {"content": [null, 1, {"text": 2}, {"text": null}]}]})",
      R"({"messages": [{"tool_calls": "x"}, {"tool_calls": [1, {"function": 2}, {"function": {"arguments": {}}}]}]})",
      R"({"messages": [{"function_call": []}]})",
      R"({"prompt": {"a": 1}, "suffix": []})",
      R"({"input": {"text": "x"}, "instructions": 1})",
      R"({"input": [null, 1, [], {"content": {}}, {"output": 3}]})",
  };
  for (const char* b : bodies) {
    const auto j = nlohmann::json::parse(b);
    EXPECT_NO_THROW({ EXPECT_TRUE(request_texts(j).empty()) << b; }) << b;
  }
}

TEST(RequestTextsTest, ClassifiesAWholeChatBody) {
  const std::string id = make_id("11010519491231002");
  const auto body = nlohmann::json{
      {"messages",
       {{{"role", "user"}, {"content", "look up"}},
        {{"role", "assistant"},
         {"tool_calls", {{{"function", {{"arguments", "{\"id\":\"" + id + "\"}"}}}}}}}}}};
  const Classification c = classify({.texts = request_texts(body)}, config());
  EXPECT_TRUE(c.sensitive);
  EXPECT_EQ(c.detector_counts[static_cast<int>(K::kCnIdCard)], 1);
}

}  // namespace
}  // namespace fathom::gateway::classify
