#pragma once

#include "common/error/error.h"
#include "common/kafka/record.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace otp::kafka {

struct TopicPartition {
  std::string topic;
  std::int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
};

/// A librdkafka consumer configured for at-least-once processing: auto-commit on, but offsets are
/// only committed once the owner stored them (`enable.auto.offset.store=false`). Use from one
/// thread; `poll` must be called regularly (it also serves rebalances).
class Consumer {
 public:
  /// A group member: call `subscribe` next.
  static Result<std::unique_ptr<Consumer>> create(const KafkaSettings& settings,
                                                  const std::string& group_id);
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  [[nodiscard]] Result<void> subscribe(const std::vector<std::string>& topics);
  /// Reads one partition from its end, outside any group balancing (for a reply partition).
  [[nodiscard]] Result<void> assign_from_end(const std::string& topic, std::int32_t partition);

  /// Runs before partitions are taken away (inside `poll`), so the owner can finish in-flight work
  /// and store offsets; the consumer commits stored offsets right after.
  void on_revoke(std::function<void(const std::vector<TopicPartition>&)> listener);

  /// Nothing (timeout, end of partition, transient broker error) or one record; an error only
  /// for a fatal client failure, after which the process should exit.
  [[nodiscard]] Result<std::optional<Record>> poll(std::chrono::milliseconds timeout);

  /// Marks everything before `next_offset` as processed; committed by the next auto-commit, by a
  /// rebalance or by `close`.
  [[nodiscard]] Result<void> store_offset(const TopicPartition& partition,
                                          std::int64_t next_offset);

  /// Stops fetching from every assigned partition (consumption resumes with `resume_all`), so the
  /// owner can keep calling `poll` — which keeps the group membership alive — while it waits.
  [[nodiscard]] Result<void> pause_all();
  [[nodiscard]] Result<void> resume_all();
  /// Makes `record` the next one read from its partition again (for a record already fetched when
  /// its partition was paused).
  [[nodiscard]] Result<void> rewind_to(const Record& record);

  /// Commits stored offsets and leaves the group. Idempotent.
  void close();

  struct Impl;

 private:
  explicit Consumer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace otp::kafka
