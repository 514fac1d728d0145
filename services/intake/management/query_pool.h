#pragma once

#include "common/config/env.h"
#include "common/pg/pg_connection.h"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace otp::intake::management {

/// A few threads, each with its own PostgreSQL connection (statement timeout ~2 s), that run the
/// management queries off the HTTP io threads. A job gets the thread's connection, or nullptr
/// when the pool is shutting down (the job must still answer its request, e.g. 503).
///
/// `submit` never blocks: a full queue (more than `queue_capacity` waiting jobs) refuses the job,
/// so a slow database sheds load (503) instead of piling up requests. Thread-safe. The destructor
/// runs every queued job with nullptr, then joins the threads.
class QueryPool {
 public:
  using Job = std::function<void(pg::PgConnection* connection)>;

  QueryPool(const config::Secret& url, std::size_t threads, std::chrono::milliseconds timeout,
            std::size_t queue_capacity = 256);
  ~QueryPool();
  QueryPool(const QueryPool&) = delete;
  QueryPool& operator=(const QueryPool&) = delete;

  /// False (and `job` not run) when the queue is full or the pool is stopping.
  [[nodiscard]] bool submit(Job job);

 private:
  void work(pg::PgConnection& connection);

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::size_t capacity_;
  std::vector<std::unique_ptr<pg::PgConnection>> connections_;
  std::vector<std::thread> threads_;
};

}  // namespace otp::intake::management
