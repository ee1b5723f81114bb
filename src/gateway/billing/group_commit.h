// The write path both ledgers share: submit() queues a row; one writer thread hands every
// queued row (up to kMaxBatch) to the ledger's commit function as one batch, then runs each
// row's callback with the batch's Status. Concurrent requests thus share one transaction.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "gateway/billing/ledger.h"

namespace fathom::gateway {

class GroupCommitter {
 public:
  using CommitFn = std::function<Status(const std::vector<UsageRecord>&)>;
  static constexpr size_t kMaxBatch = 512;

  ~GroupCommitter() { stop(); }

  void start(CommitFn commit) {
    commit_ = std::move(commit);
    writer_ = std::thread([this] { loop(); });
  }

  void submit(UsageRecord r, std::function<void(const Status&)> done) {
    std::unique_lock<std::mutex> lock(mu_);
    if (stop_) {
      lock.unlock();
      if (done) done(unavailable("ledger is closed"));
      return;
    }
    queue_.push_back({std::move(r), std::move(done)});
    cv_.notify_all();
  }

  /// Commits what is queued, then joins the writer. Idempotent.
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (writer_.joinable()) writer_.join();
  }

 private:
  struct Pending {
    UsageRecord record;
    std::function<void(const Status&)> done;
  };

  void loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty() && stop_) return;
      std::vector<UsageRecord> rows;
      std::vector<std::function<void(const Status&)>> dones;
      while (!queue_.empty() && rows.size() < kMaxBatch) {
        rows.push_back(std::move(queue_.front().record));
        dones.push_back(std::move(queue_.front().done));
        queue_.pop_front();
      }
      lock.unlock();
      const Status s = commit_(rows);
      for (auto& done : dones)
        if (done) done(s);
      lock.lock();
    }
  }

  CommitFn commit_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stop_ = false;
  std::thread writer_;
};

}  // namespace fathom::gateway
