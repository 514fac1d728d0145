#pragma once

#include "common/error/error.h"
#include "common/kafka/consumer.h"

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace otp::kafka {

/// Decides which offsets may be stored: a record counts as done only when every record produced
/// for it was acknowledged, and an offset is stored only once every earlier record of its
/// partition is done too (so a crash can never skip an unfinished record). Thread-safe: `begin`
/// and `take_ready` run on the consumer thread, completions arrive on the producer's thread.
class OffsetTracker {
 public:
  /// One consumed record awaiting `outputs` acknowledgements.
  class Pending {
   public:
    explicit Pending(std::int64_t offset, std::size_t outputs)
        : offset_(offset), remaining_(static_cast<std::int64_t>(outputs)) {}
    [[nodiscard]] std::int64_t offset() const noexcept { return offset_; }
    [[nodiscard]] bool done() const noexcept { return remaining_.load() <= 0; }

   private:
    friend class OffsetTracker;
    std::int64_t offset_;
    std::atomic<std::int64_t> remaining_;
  };

  /// Registers a consumed record. With zero outputs it is done at once.
  std::shared_ptr<Pending> begin(const TopicPartition& partition, std::int64_t offset,
                                 std::size_t outputs);
  /// One output of `pending` was acknowledged, or failed for good (recorded as `failure()`).
  void complete(Pending& pending, const Result<void>& outcome);

  /// For each partition, the offset to store (last done record + 1) if it advanced; removes the
  /// done records from the front.
  std::vector<std::pair<TopicPartition, std::int64_t>> take_ready();
  /// Drops the records of partitions that were taken away.
  void forget(const std::vector<TopicPartition>& partitions);
  /// The first output that could not be delivered: the process must stop without storing.
  [[nodiscard]] std::optional<Error> failure() const;
  [[nodiscard]] std::size_t in_flight() const;

 private:
  mutable std::mutex mutex_;
  std::map<TopicPartition, std::deque<std::shared_ptr<Pending>>> partitions_;
  std::optional<Error> failure_;
};

}  // namespace otp::kafka
