#include "common/kafka/offset_tracker.h"

namespace otp::kafka {

std::shared_ptr<OffsetTracker::Pending> OffsetTracker::begin(const TopicPartition& partition,
                                                             std::int64_t offset,
                                                             std::size_t outputs) {
  auto pending = std::make_shared<Pending>(offset, outputs);
  std::lock_guard lock(mutex_);
  partitions_[partition].push_back(pending);
  return pending;
}

void OffsetTracker::complete(Pending& pending, const Result<void>& outcome) {
  if (!outcome) {
    std::lock_guard lock(mutex_);
    if (!failure_) failure_ = outcome.error();
    return;  // never counted as done: its offset must not be stored
  }
  pending.remaining_.fetch_sub(1);
}

std::vector<std::pair<TopicPartition, std::int64_t>> OffsetTracker::take_ready() {
  std::vector<std::pair<TopicPartition, std::int64_t>> ready;
  std::lock_guard lock(mutex_);
  for (auto& [partition, queue] : partitions_) {
    std::optional<std::int64_t> next;
    while (!queue.empty() && queue.front()->done()) {
      next = queue.front()->offset() + 1;
      queue.pop_front();
    }
    if (next) ready.emplace_back(partition, *next);
  }
  return ready;
}

void OffsetTracker::forget(const std::vector<TopicPartition>& partitions) {
  std::lock_guard lock(mutex_);
  for (const auto& partition : partitions) partitions_.erase(partition);
}

std::optional<Error> OffsetTracker::failure() const {
  std::lock_guard lock(mutex_);
  return failure_;
}

std::size_t OffsetTracker::in_flight() const {
  std::lock_guard lock(mutex_);
  std::size_t count = 0;
  for (const auto& [partition, queue] : partitions_) count += queue.size();
  return count;
}

}  // namespace otp::kafka
