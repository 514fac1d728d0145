#pragma once

#include "common/kafka/consumer.h"
#include "common/kafka/dead_letter.h"
#include "common/kafka/pipeline_stage.h"
#include "common/kafka/producer.h"
#include "common/kafka/stage_runner.h"

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <vector>

namespace otp::kafka {

/// The consume loop for sinks (the audit writer): decode records into a batch, write the batch
/// when it is full or old enough, and store offsets only after the write succeeded. A failed
/// write is retried with capped backoff (the batch is kept, nothing is skipped); poison records
/// are dead-lettered (and acknowledged) before their offset counts as processed. On revoke and
/// on stop, the pending batch is written first. Single-threaded use.
template <BatchStage Stage>
class BatchRunner {
 public:
  BatchRunner(Stage& stage, Producer& producer, RunnerOptions options)
      : stage_(stage), producer_(producer), options_(std::move(options)) {}

  Result<void> run(Consumer& consumer, const std::atomic<bool>& stop) {
    consumer.on_revoke([&](const std::vector<TopicPartition>& revoked) {
      flush(consumer, nullptr, stop);  // inside poll(): must not poll again
      for (const auto& partition : revoked) next_offsets_.erase(partition);
    });
    Result<void> outcome;
    while (!stop.load()) {
      auto polled =
          consumer.poll(batch_.empty() ? options_.poll_timeout : std::chrono::milliseconds(5));
      if (!polled) {
        outcome = tl::unexpected(polled.error());
        break;
      }
      if (*polled) {
        if (auto added = add(**polled); !added) {
          outcome = added;
          break;
        }
      }
      bool full = batch_.size() >= options_.batch_size;
      bool old = !batch_.empty() &&
                 std::chrono::steady_clock::now() - batch_started_ >= options_.batch_age;
      if (full || old) flush(consumer, &consumer, stop);
    }
    if (outcome) flush(consumer, nullptr, stop);
    consumer.close();
    return outcome;
  }

 private:
  Result<void> add(const Record& record) {
    auto decoded = stage_.decode(record);
    if (decoded) {
      if (batch_.empty()) batch_started_ = std::chrono::steady_clock::now();
      batch_.push_back(std::move(*decoded));
    } else {
      spdlog::warn("{}.dead_lettered topic={} partition={} offset={} reason=\"{}\"",
                   options_.stage_name, record.topic, record.partition, record.offset,
                   decoded.error().message);
      std::array<OutboundRecord, 1> parked{
          dead_letter_record(record, decoded.error(), options_.stage_name, options_.dlq_topic)};
      if (auto sent = publish_and_wait(producer_, parked, std::chrono::seconds(30)); !sent) {
        return tl::unexpected(sent.error());  // cannot park it: stop before storing past it
      }
    }
    next_offsets_[{record.topic, record.partition}] = record.offset + 1;
    dirty_ = true;
    return {};
  }

  /// Writes the batch (retrying) and stores its offsets. With `pollable`, retries keep the group
  /// membership alive by polling paused partitions (back-pressure while the database is slow).
  void flush(Consumer& consumer, Consumer* pollable, const std::atomic<bool>& stop) {
    if (!batch_.empty()) {
      BackoffWaiter waiter(pollable);
      auto backoff = options_.initial_backoff;
      while (true) {
        auto written = stage_.write(std::span<const typename Stage::Input>(batch_));
        if (written) break;
        spdlog::warn("{}.write_retry batch={} backoff_ms={} error=\"{}\"", options_.stage_name,
                     batch_.size(), backoff.count(), written.error().message);
        // On stop, give up without storing: the next run rewrites the batch idempotently.
        if (!waiter.wait(backoff, stop)) return;
        backoff = std::min(backoff * 2, options_.max_backoff);
      }
      spdlog::debug("{}.batch_written records={}", options_.stage_name, batch_.size());
      batch_.clear();
    }
    if (!dirty_) return;
    for (const auto& [partition, next] : next_offsets_) {
      if (auto stored = consumer.store_offset(partition, next); !stored) {
        spdlog::warn("{}.store_offset_failed topic={} partition={} error=\"{}\"",
                     options_.stage_name, partition.topic, partition.partition,
                     stored.error().message);
      }
    }
    dirty_ = false;
  }

  Stage& stage_;
  Producer& producer_;
  RunnerOptions options_;
  std::vector<typename Stage::Input> batch_;
  std::chrono::steady_clock::time_point batch_started_{};
  std::map<TopicPartition, std::int64_t> next_offsets_;
  bool dirty_ = false;
};

}  // namespace otp::kafka
