#include "services/intake/management/query_pool.h"

namespace otp::intake::management {

QueryPool::QueryPool(const config::Secret& url, std::size_t threads,
                     std::chrono::milliseconds timeout, std::size_t queue_capacity)
    : capacity_(queue_capacity) {
  for (std::size_t i = 0; i < threads; ++i) {
    connections_.push_back(std::make_unique<pg::PgConnection>(
        url, pg::PgOptions{.application_name = "otp-intake-mgmt", .statement_timeout = timeout}));
  }
  for (auto& connection : connections_) {
    threads_.emplace_back([this, raw = connection.get()] { work(*raw); });
  }
}

QueryPool::~QueryPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_all();
  for (auto& thread : threads_) thread.join();
  for (auto& job : queue_) job(nullptr);  // none left normally: workers drain before exiting
}

bool QueryPool::submit(Job job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= capacity_) return false;
    queue_.push_back(std::move(job));
  }
  ready_.notify_one();
  return true;
}

void QueryPool::work(pg::PgConnection& connection) {
  for (;;) {
    Job job;
    bool stopping = false;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      stopping = stopping_;
    }
    job(stopping ? nullptr : &connection);
  }
}

}  // namespace otp::intake::management
