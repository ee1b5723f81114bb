#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <thread>

#include "gateway/billing/ledger.h"
#include "gateway/billing/price_table.h"
#include "gateway/billing/report.h"
#include "support/temp_dir.h"
#include "support/usage_rows.h"

namespace fathom::gateway {
namespace {

using fathom::testing::usage_row;

using fathom::testing::TempDir;



TEST(PriceTableTest, DecimalPricesAreExact) {
  EXPECT_EQ(*parse_price_per_1k("0.1"), 100'000);  // 0.1 per 1K tokens = 1e5 nanos per token
  EXPECT_EQ(*parse_price_per_1k("2"), 2'000'000);
  EXPECT_EQ(*parse_price_per_1k("0.000001"), 1);
  EXPECT_FALSE(parse_price_per_1k("0.0000001").ok());
  EXPECT_FALSE(parse_price_per_1k("-1").ok());
  EXPECT_FALSE(parse_price_per_1k("1e-3").ok());
  EXPECT_EQ(format_nanos(100'000 * 1234), "0.1234");  // 1234 tokens at 0.1 per 1K
  EXPECT_EQ(format_nanos(1), "0.000000001");
  EXPECT_EQ(format_nanos(2'500'000'000), "2.50");
}

TEST(PriceTableTest, CostUsesTheTenantsVolumeTierAndCachedPrice) {
  PriceTable prices;
  ModelPrice p;
  p.tiers = {{0, 100'000, 25'000, 200'000}, {1'000'000, 50'000, 10'000, 100'000}};
  ASSERT_TRUE(prices.set("deepseek-chat", p).ok());
  // 1000 prompt tokens of which 400 cached, 500 completion tokens, first tier.
  EXPECT_EQ(*prices.cost("deepseek-chat", 0, 1000, 400, 500), 600 * 100'000 + 400 * 25'000 + 500 * 200'000);
  EXPECT_EQ(*prices.cost("deepseek-chat", 2'000'000, 1000, 0, 0), 1000 * 50'000);
  EXPECT_EQ(prices.cost("nope", 0, 1, 0, 1).status().code(), Code::kNotFound);
}

// Both durability modes: full (journal fdatasync'd per group) and normal (journal write only).
class SqliteLedgerTest : public ::testing::TestWithParam<LedgerSync> {};

INSTANTIATE_TEST_SUITE_P(Sync, SqliteLedgerTest, ::testing::Values(LedgerSync::kFull, LedgerSync::kNormal),
                         [](const ::testing::TestParamInfo<LedgerSync>& p) { return p.param == LedgerSync::kFull ? "full" : "normal"; });

TEST_P(SqliteLedgerTest, ConcurrentWritesAreAllRecordedAndReportTotalsEqualTheRows) {
  TempDir dir;
  auto ledger = open_sqlite_ledger(dir.file("ledger.db"), GetParam());
  ASSERT_TRUE(ledger.ok()) << ledger.status().to_string();
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        const std::string id = "req-" + std::to_string(t) + "-" + std::to_string(i);
        ASSERT_TRUE((*ledger)->record(usage_row(id, t % 2 ? "a" : "b", 10 + i, 5, 1000 + i)).ok());
      }
    });
  for (auto& th : threads) th.join();
  auto rows = (*ledger)->rows("acme", "2026-11");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 200u);
  const BillingReport r = make_billing_report("acme", "2026-11", *rows);
  int64_t prompt = 0, cost = 0;
  for (const auto& u : *rows) {
    prompt += u.prompt_tokens;
    cost += u.cost_nanos;
  }
  EXPECT_EQ(r.total.requests, 200);
  EXPECT_EQ(r.total.prompt_tokens, prompt);
  EXPECT_EQ(r.total.cost_nanos, cost);
  EXPECT_EQ(r.by_model.at("a").requests + r.by_model.at("b").requests, 200);
  EXPECT_NE(render_csv(r).find("acme,2026-11,TOTAL,200,"), std::string::npos) << render_csv(r);
  EXPECT_NE(render_json(r).find("\"requests\": 200"), std::string::npos);
  EXPECT_EQ(*(*ledger)->monthly_tokens("acme", "2026-11"), prompt + 200 * 5);
  EXPECT_EQ((*ledger)->rows("acme", "2026-10")->size(), 0u);
}

TEST(LedgerTest, ARetriedWriteIsNotCountedTwice) {
  TempDir dir;
  auto ledger = open_sqlite_ledger(dir.file("ledger.db"));
  ASSERT_TRUE(ledger.ok());
  ASSERT_TRUE((*ledger)->record(usage_row("same", "a", 10, 1, 5)).ok());
  ASSERT_TRUE((*ledger)->record(usage_row("same", "a", 10, 1, 5)).ok());
  EXPECT_EQ((*ledger)->rows("acme", "2026-11")->size(), 1u);
}

// The mover's backlog (for /metrics and the FathomLedgerMoverLagging alert): rows that are in
// the journal and not yet in SQLite, and the oldest one's time; a query moves them.
TEST(LedgerTest, TheBacklogCountsRowsNotYetMoved) {
  TempDir dir;
  auto ledger = open_sqlite_ledger(dir.file("ledger.db"), LedgerSync::kNormal);
  ASSERT_TRUE(ledger.ok());
  EXPECT_EQ((*ledger)->backlog().rows, 0);
  for (int64_t t : {1'780'000'002'000, 1'780'000'001'000, 1'780'000'003'000}) {
    UsageRecord r;
    r.request_id = "r" + std::to_string(t);
    r.time_ms = t;
    r.tenant = "acme";
    ASSERT_TRUE((*ledger)->record(r).ok());
  }
  // The mover takes all pending rows at once, every second: unless this machine stalled that
  // long, all three are still waiting.
  const LedgerBacklog b = (*ledger)->backlog();
  if (b.rows > 0) {
    EXPECT_EQ(b.rows, 3);
    EXPECT_EQ(b.oldest_time_ms, 1'780'000'001'000);
  }
  ASSERT_TRUE((*ledger)->rows("acme", month_of(1'780'000'001'000)).ok());
  EXPECT_EQ((*ledger)->backlog().rows, 0);
  EXPECT_EQ((*ledger)->backlog().oldest_time_ms, 0);
}

TEST_P(SqliteLedgerTest, SigkillLosesNoAcknowledgedRow) {
  TempDir dir;
  const std::string path = dir.file("ledger.db");
  int acks[2];
  ASSERT_EQ(pipe(acks), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // writer: acknowledge each committed row through the pipe, forever
    close(acks[0]);
    auto ledger = open_sqlite_ledger(path, GetParam());
    if (!ledger.ok()) _exit(2);
    for (int i = 0;; ++i) {
      if (!(*ledger)->record(usage_row("r" + std::to_string(i), "a", 1, 1, 1)).ok()) _exit(3);
      if (write(acks[1], &i, sizeof(i)) != sizeof(i)) _exit(4);
    }
  }
  close(acks[1]);
  std::set<int> acknowledged;
  int i = 0;
  while (acknowledged.size() < 50 && read(acks[0], &i, sizeof(i)) == sizeof(i)) acknowledged.insert(i);
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  while (read(acks[0], &i, sizeof(i)) == sizeof(i)) acknowledged.insert(i);  // drain the pipe
  close(acks[0]);
  ASSERT_EQ(acknowledged.size() >= 50, true);

  auto ledger = open_sqlite_ledger(path);
  ASSERT_TRUE(ledger.ok()) << ledger.status().to_string();
  auto rows = (*ledger)->rows("acme", "2026-11");
  ASSERT_TRUE(rows.ok());
  std::set<std::string> ids;
  for (const auto& r : *rows) ids.insert(r.request_id);
  for (int a : acknowledged) EXPECT_TRUE(ids.count("r" + std::to_string(a))) << "lost acknowledged row r" << a;
}


// What a gateway killed before moving its journal leaves behind: a segment nobody holds,
// possibly ending in a torn line (the write it died in; that request was never answered).
TEST(SqliteLedgerJournalTest, ADeadProcesssJournalIsMovedIntoTheLedgerOnOpen) {
  TempDir dir;
  const std::string path = dir.file("ledger.db");
  { ASSERT_TRUE(open_sqlite_ledger(path).ok()); }  // creates the database and the journal directory
  const std::string segment = path + ".journal/4242-1-0.jsonl";
  fathom::testing::write_text(
      segment,
      R"({"id":"dead-1","t":1795000000000,"tenant":"acme","key":"k1","model":"a","up":"u1","p":10,"c":2,"cached":0,"cost":7,"ms":3,"status":200})"
      "\n"
      R"({"id":"dead-2","t":1795000000000,"tenant":"acme","key":"k1","model":"a","up":"u1","p":20,"c":4,"cached":1,"cost":9,"ms":3,"status":200})"
      "\n"
      R"({"id":"dead-3","t":17950)");
  auto ledger = open_sqlite_ledger(path);
  ASSERT_TRUE(ledger.ok()) << ledger.status().to_string();
  auto rows = (*ledger)->rows("acme", "2026-11");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[1].request_id, "dead-2");
  EXPECT_EQ((*rows)[1].cached_tokens, 1);
  EXPECT_EQ(*(*ledger)->monthly_tokens("acme", "2026-11"), 36);
  EXPECT_FALSE(std::filesystem::exists(segment)) << "a moved segment is deleted";
}

// `fathom billing report` opens the ledger while the gateway runs: it must count the rows the
// gateway journaled but has not moved yet, and neither of them may count a row twice.
TEST_P(SqliteLedgerTest, AReaderCountsALiveWritersJournaledRowsOnce) {
  TempDir dir;
  const std::string path = dir.file("ledger.db");
  auto gateway = open_sqlite_ledger(path, GetParam());
  ASSERT_TRUE(gateway.ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE((*gateway)->record(usage_row("live-" + std::to_string(i), "a", 1, 1, 1)).ok());
  {
    auto report = open_sqlite_ledger(path, GetParam());
    ASSERT_TRUE(report.ok());
    EXPECT_EQ((*report)->rows("acme", "2026-11")->size(), 5u);
  }
  ASSERT_TRUE((*gateway)->record(usage_row("live-5", "a", 1, 1, 1)).ok());
  EXPECT_EQ((*gateway)->rows("acme", "2026-11")->size(), 6u);
  gateway->reset();
  auto again = open_sqlite_ledger(path, GetParam());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->rows("acme", "2026-11")->size(), 6u);
  EXPECT_TRUE(std::filesystem::is_empty(path + ".journal")) << "every segment was moved and deleted";
}

}  // namespace
}  // namespace fathom::gateway
