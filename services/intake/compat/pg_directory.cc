#include "services/intake/compat/pg_directory.h"

#include "common/pg/pg_connection.h"

#include <spdlog/spdlog.h>

#include <vector>

namespace otp::intake::compat {
namespace {

constexpr char kQuery[] =
    "SELECT d.email, t.reveal_contacts FROM directory d JOIN tenants t ON t.id = d.tenant_id "
    "WHERE d.tenant_id = $1 AND d.mobile = $2";
// A directory is small; bounding the cache keeps a scan of random numbers from growing it.
constexpr std::size_t kMaxCached = 10'000;

}  // namespace

PgDirectory::PgDirectory(config::Secret url, std::chrono::milliseconds cache_ttl,
                         std::size_t max_queue)
    : db_(std::make_unique<pg::PgConnection>(
          std::move(url), pg::PgOptions{.application_name = "otp-intake-directory",
                                        .statement_timeout = std::chrono::milliseconds(2000)})),
      cache_ttl_(cache_ttl),
      max_queue_(max_queue),
      worker_([this](const std::stop_token& stop) { run(stop); }) {}

PgDirectory::~PgDirectory() {
  worker_.request_stop();
  if (worker_.joinable()) worker_.join();
  std::deque<Job> left;
  {
    std::lock_guard lock(mutex_);
    left.swap(queue_);
  }
  for (auto& job : left) job.done(fail(Errc::kUnavailable, "shutting down"));
}

void PgDirectory::find(const std::string& tenant, const std::string& mobile,
                       DirectoryCallback done) {
  std::unique_lock lock(mutex_);
  auto key = std::pair{tenant, mobile};
  if (auto it = cache_.find(key); it != cache_.end()) {
    if (it->second.until > std::chrono::steady_clock::now()) {
      auto entry = it->second.entry;
      lock.unlock();
      done(DirectoryResult(std::move(entry)));
      return;
    }
    cache_.erase(it);
  }
  if (queue_.size() >= max_queue_) {
    lock.unlock();
    done(fail(Errc::kUnavailable, "directory look-ups are backed up"));
    return;
  }
  queue_.push_back(Job{.tenant = tenant, .mobile = mobile, .done = std::move(done)});
  lock.unlock();
  wake_.notify_one();
}

void PgDirectory::run(const std::stop_token& stop) {
  while (true) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      if (!wake_.wait(lock, stop, [this] { return !queue_.empty(); })) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    auto result = query(job);
    if (result && cache_ttl_.count() > 0) {
      std::lock_guard lock(mutex_);
      if (cache_.size() >= kMaxCached) cache_.clear();
      cache_.insert_or_assign(
          std::pair{job.tenant, job.mobile},
          Cached{.entry = *result, .until = std::chrono::steady_clock::now() + cache_ttl_});
    }
    job.done(result);
  }
}

DirectoryResult PgDirectory::query(const Job& job) {
  std::vector<pg::Row> rows;
  auto done = db_->transact([&](pg::Transaction& tx) -> Result<void> {
    auto found = tx.exec(kQuery, {job.tenant, job.mobile});
    if (!found) return tl::unexpected(found.error());
    rows = std::move(*found);
    return {};
  });
  if (!done) {
    spdlog::warn("compat.directory_failed tenant={} reason=\"{}\"", job.tenant,
                 done.error().message);
    // Whatever went wrong, the caller can only retry later.
    return fail(Errc::kUnavailable, "directory unavailable");
  }
  if (rows.empty() || rows.front().size() < 2 || !rows.front()[0]) return std::nullopt;
  return DirectoryEntry{.email = *rows.front()[0],
                        .reveal_contacts = rows.front()[1].value_or("f") == "t"};
}

}  // namespace otp::intake::compat
