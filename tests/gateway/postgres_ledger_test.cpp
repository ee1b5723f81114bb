// The PostgreSQL ledger against a real, private PostgreSQL server (tests/support/postgres_server.h).
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <set>
#include <thread>

#include "gateway/billing/ledger.h"
#include "gateway/billing/report.h"
#include "support/postgres_server.h"
#include "support/usage_rows.h"

namespace fathom::gateway {
namespace {

using fathom::testing::usage_row;

using fathom::testing::PostgresServer;



// Runs one SQL statement; returns the first column of the first row ("" when none).
std::string sql(const std::string& conninfo, const std::string& statement) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  std::string out = "connect failed: " + std::string(PQerrorMessage(c));
  if (PQstatus(c) == CONNECTION_OK) {
    PGresult* r = PQexec(c, statement.c_str());
    const ExecStatusType st = PQresultStatus(r);
    out = st == PGRES_TUPLES_OK && PQntuples(r) > 0 ? PQgetvalue(r, 0, 0)
          : st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? ""
                                                            : "error: " + std::string(PQerrorMessage(c));
    PQclear(r);
  }
  PQfinish(c);
  return out;
}

class PostgresLedgerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new PostgresServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(server_->ready()) << server_->error();
    // A fresh database per test.
    db_ = "t_" + std::to_string(++num_dbs_);
    ASSERT_EQ(sql(server_->conninfo(), "CREATE DATABASE " + db_), "");
  }
  std::string conninfo() const { return server_->conninfo(db_); }

  static PostgresServer* server_;
  static int num_dbs_;
  std::string db_;
};
PostgresServer* PostgresLedgerTest::server_ = nullptr;
int PostgresLedgerTest::num_dbs_ = 0;

TEST_F(PostgresLedgerTest, CreatesTheSchemaWithIndexesOnKeyAndTimeAndTenantAndMonth) {
  auto ledger = open_postgres_ledger(conninfo());
  ASSERT_TRUE(ledger.ok()) << ledger.status().to_string();
  const std::string key_idx = sql(conninfo(), "SELECT indexdef FROM pg_indexes WHERE indexname='usage_key_time'");
  EXPECT_NE(key_idx.find("(key_id, time_ms)"), std::string::npos) << key_idx;
  const std::string tenant_idx =
      sql(conninfo(), "SELECT indexdef FROM pg_indexes WHERE indexname='usage_tenant_month'");
  EXPECT_NE(tenant_idx.find("(tenant, month, time_ms)"), std::string::npos) << tenant_idx;
  // Opening again (a second replica, a restart) keeps the table.
  ASSERT_TRUE((*ledger)->record(usage_row("a", "m", 1, 1, 1)).ok());
  auto again = open_postgres_ledger(conninfo());
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ((*again)->rows("acme", "2026-11")->size(), 1u);
}

TEST_F(PostgresLedgerTest, ABadConninfoIsAClearError) {
  auto ledger = open_postgres_ledger("host=127.0.0.1 port=1 user=postgres connect_timeout=2");
  ASSERT_FALSE(ledger.ok());
  EXPECT_EQ(ledger.status().code(), Code::kUnavailable);
  EXPECT_NE(ledger.status().message().find("ledger_postgres"), std::string::npos) << ledger.status().message();
}

TEST_F(PostgresLedgerTest, ConcurrentWritesAreGroupCommittedAndReportTotalsEqualTheRows) {
  auto ledger = open_postgres_ledger(conninfo());
  ASSERT_TRUE(ledger.ok()) << ledger.status().to_string();
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        const std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        ASSERT_TRUE((*ledger)->record(usage_row(id, t % 2 ? "a" : "b", 10 + i, 5, 1000 + i)).ok());
      }
    });
  for (auto& th : threads) th.join();
  auto rows = (*ledger)->rows("acme", "2026-11");
  ASSERT_TRUE(rows.ok()) << rows.status().to_string();
  ASSERT_EQ(rows->size(), 200u);
  int64_t prompt = 0, cost = 0;
  for (const auto& r : *rows) {
    prompt += r.prompt_tokens;
    cost += r.cost_nanos;
  }
  const BillingReport report = make_billing_report("acme", "2026-11", *rows);
  EXPECT_EQ(report.total.requests, 200);
  EXPECT_EQ(report.total.prompt_tokens, prompt);
  EXPECT_EQ(report.total.cost_nanos, cost);
  EXPECT_EQ(report.by_model.at("a").requests + report.by_model.at("b").requests, 200);
  EXPECT_EQ(*(*ledger)->monthly_tokens("acme", "2026-11"), prompt + 200 * 5);
  EXPECT_EQ(*(*ledger)->monthly_tokens("acme", "2026-10"), 0);
  EXPECT_EQ((*ledger)->rows("acme", "2026-10")->size(), 0u);
}

TEST_F(PostgresLedgerTest, ARetriedWriteIsNotCountedTwice) {
  auto ledger = open_postgres_ledger(conninfo());
  ASSERT_TRUE(ledger.ok()) << ledger.status().to_string();
  ASSERT_TRUE((*ledger)->record(usage_row("same", "a", 10, 1, 5)).ok());
  ASSERT_TRUE((*ledger)->record(usage_row("same", "a", 10, 1, 5)).ok());
  EXPECT_EQ((*ledger)->rows("acme", "2026-11")->size(), 1u);
  EXPECT_EQ(*(*ledger)->monthly_tokens("acme", "2026-11"), 11);
}

TEST_F(PostgresLedgerTest, TwoReplicasShareOneLedger) {
  auto a = open_postgres_ledger(conninfo());
  auto b = open_postgres_ledger(conninfo());
  ASSERT_TRUE(a.ok() && b.ok());
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE((*a)->record(usage_row("a" + std::to_string(i), "m", 2, 1, 1)).ok());
    ASSERT_TRUE((*b)->record(usage_row("b" + std::to_string(i), "m", 3, 1, 1)).ok());
  }
  EXPECT_EQ((*a)->rows("acme", "2026-11")->size(), 20u);
  EXPECT_EQ(*(*b)->monthly_tokens("acme", "2026-11"), 10 * 3 + 10 * 4);
}

TEST_F(PostgresLedgerTest, SigkillOfAWriterLosesNoAcknowledgedRow) {
  int acks[2];
  ASSERT_EQ(pipe(acks), 0);
  const std::string info = conninfo();
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // writer: 4 threads acknowledge each committed row through the pipe, forever
    close(acks[0]);
    auto ledger = open_postgres_ledger(info);
    if (!ledger.ok()) _exit(2);
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t)
      writers.emplace_back([&, t] {
        for (int i = t;; i += 4) {
          if (!(*ledger)->record(usage_row("r" + std::to_string(i), "a", 1, 1, 1)).ok()) _exit(3);
          if (write(acks[1], &i, sizeof(i)) != sizeof(i)) _exit(4);
        }
      });
    for (auto& w : writers) w.join();
    _exit(0);
  }
  close(acks[1]);
  std::set<int> acknowledged;
  int i = 0;
  while (acknowledged.size() < 200 && read(acks[0], &i, sizeof(i)) == sizeof(i)) acknowledged.insert(i);
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  while (read(acks[0], &i, sizeof(i)) == sizeof(i)) acknowledged.insert(i);  // drain the pipe
  close(acks[0]);
  ASSERT_GE(acknowledged.size(), 200u) << "writer exited early with status " << status;

  auto ledger = open_postgres_ledger(info);
  ASSERT_TRUE(ledger.ok()) << ledger.status().to_string();
  auto rows = (*ledger)->rows("acme", "2026-11");
  ASSERT_TRUE(rows.ok());
  std::set<std::string> ids;
  for (const auto& r : *rows) ids.insert(r.request_id);
  EXPECT_GE(ids.size(), acknowledged.size());
  for (int a : acknowledged) EXPECT_TRUE(ids.count("r" + std::to_string(a))) << "lost acknowledged row r" << a;
}

}  // namespace
}  // namespace fathom::gateway
