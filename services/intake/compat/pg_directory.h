#pragma once

#include "common/config/env.h"
#include "services/intake/compat/directory.h"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>

namespace otp::pg {
class PgConnection;
}

namespace otp::intake::compat {

/// The directory in PostgreSQL (`directory` joined with `tenants.reveal_contacts`), looked up
/// on one worker thread with its own connection, so that the HTTP io threads never wait for the
/// database. Answers (found and not found) are cached for `cache_ttl`; errors are not.
///
/// At most `max_queue` look-ups wait; beyond that `find` answers kUnavailable at once (the
/// database is slow or down, and queueing more would only add latency). The destructor stops
/// the worker and answers what is still queued with kUnavailable. Thread-safe.
class PgDirectory final : public Directory {
 public:
  PgDirectory(config::Secret url, std::chrono::milliseconds cache_ttl, std::size_t max_queue = 256);
  ~PgDirectory() override;
  PgDirectory(const PgDirectory&) = delete;
  PgDirectory& operator=(const PgDirectory&) = delete;

  void find(const std::string& tenant, const std::string& mobile, DirectoryCallback done) override;

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;
  struct Job {
    std::string tenant;
    std::string mobile;
    DirectoryCallback done;
  };
  struct Cached {
    std::optional<DirectoryEntry> entry;
    SteadyTime until;
  };

  void run(const std::stop_token& stop);
  DirectoryResult query(const Job& job);

  std::unique_ptr<pg::PgConnection> db_;  // worker thread only
  std::chrono::milliseconds cache_ttl_;
  std::size_t max_queue_;

  std::mutex mutex_;
  std::condition_variable_any wake_;
  std::deque<Job> queue_;
  std::map<std::pair<std::string, std::string>, Cached> cache_;
  std::jthread worker_;
};

}  // namespace otp::intake::compat
