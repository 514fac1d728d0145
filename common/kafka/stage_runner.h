#pragma once

#include "common/kafka/consumer.h"
#include "common/kafka/dead_letter.h"
#include "common/kafka/offset_tracker.h"
#include "common/kafka/pipeline_stage.h"
#include "common/kafka/producer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>

namespace otp::kafka {

struct RunnerOptions {
  std::string stage_name;  ///< in logs and in the dead-letter headers
  std::string dlq_topic;
  std::chrono::milliseconds poll_timeout{100};
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{5000};
  /// BatchRunner only: flush when the batch has this many records or is this old.
  std::size_t batch_size = 1000;
  std::chrono::milliseconds batch_age{100};
};

/// Sleeps up to `duration` in short steps; false if `stop` was raised meanwhile.
bool sleep_unless_stopped(std::chrono::milliseconds duration, const std::atomic<bool>& stop);

/// Waits out a retry backoff without dropping out of the consumer group. A consume loop that
/// stopped polling for longer than `max.poll.interval.ms` (5 min) would be evicted, so the first
/// wait pauses every assigned partition and then keeps polling; a record fetched before the
/// pause is rewound, so nothing is skipped. Destruction resumes the partitions. Without a
/// consumer (unit tests, or inside a rebalance callback, where polling is not allowed) it sleeps.
class BackoffWaiter {
 public:
  explicit BackoffWaiter(Consumer* consumer) : consumer_(consumer) {}
  ~BackoffWaiter();
  BackoffWaiter(const BackoffWaiter&) = delete;
  BackoffWaiter& operator=(const BackoffWaiter&) = delete;

  /// False if `stop` was raised or the consumer failed for good.
  bool wait(std::chrono::milliseconds duration, const std::atomic<bool>& stop);

 private:
  Consumer* consumer_;
  bool paused_ = false;
};

/// The consume loop shared by every worker (STYLE.md): poll, decode, handle, produce, store the
/// offset once every output is acknowledged. Records are processed one at a time in partition
/// order, but outputs are acknowledged asynchronously so a slow broker round trip does not stall
/// the next record. A transient failure retries the same record with capped backoff (the
/// partition waits: storing a later offset would skip it); a poison record is dead-lettered.
/// An output the broker finally refused stops the runner without storing: the process exits and
/// its successor reprocesses from the last stored offset. Single-threaded use.
template <PipelineStage Stage>
class StageRunner {
 public:
  StageRunner(Stage& stage, Producer& producer, RunnerOptions options)
      : stage_(stage), producer_(producer), options_(std::move(options)) {}

  /// Consumes until `stop` is raised, then drains in-flight outputs, stores offsets and closes.
  Result<void> run(Consumer& consumer, const std::atomic<bool>& stop) {
    consumer_ = &consumer;
    consumer.on_revoke([&](const std::vector<TopicPartition>& revoked) {
      drain(consumer);
      tracker_.forget(revoked);
    });
    Result<void> outcome;
    while (!stop.load()) {
      if (auto failure = tracker_.failure()) {
        outcome = tl::unexpected(*failure);
        break;
      }
      store_ready(consumer);
      auto polled = consumer.poll(options_.poll_timeout);
      if (!polled) {
        outcome = tl::unexpected(polled.error());
        break;
      }
      if (*polled) process(**polled, stop);
    }
    if (outcome) drain(consumer);
    consumer.close();
    consumer_ = nullptr;
    if (!outcome) return outcome;
    if (auto failure = tracker_.failure()) return tl::unexpected(*failure);
    return {};
  }

  /// Processes one record (retrying transient failures until it succeeds or `stop` is raised)
  /// and enqueues its outputs. Exposed for tests.
  void process(const Record& record, const std::atomic<bool>& stop) {
    BackoffWaiter waiter(consumer_);
    auto outputs = outputs_for(record, stop, waiter);
    if (!outputs) return;  // stopped while retrying: the offset is never stored
    auto pending = tracker_.begin({record.topic, record.partition}, record.offset, outputs->size());
    for (const auto& output : *outputs) {
      auto backoff = options_.initial_backoff;
      while (true) {
        auto enqueued = producer_.produce(output, [this, pending](const Result<void>& acked) {
          tracker_.complete(*pending, acked);
        });
        if (enqueued) break;
        spdlog::warn("{}.produce_retry topic={} error=\"{}\"", options_.stage_name, output.topic,
                     enqueued.error().message);
        if (!waiter.wait(backoff, stop)) return;
        backoff = std::min(backoff * 2, options_.max_backoff);
      }
    }
  }

  [[nodiscard]] OffsetTracker& tracker() { return tracker_; }

 private:
  std::optional<std::vector<OutboundRecord>> outputs_for(const Record& record,
                                                         const std::atomic<bool>& stop,
                                                         BackoffWaiter& waiter) {
    auto backoff = options_.initial_backoff;
    while (true) {
      auto outputs =
          stage_.decode(record).and_then([&](const auto& input) { return stage_.handle(input); });
      if (outputs) {
        spdlog::debug("{}.processed topic={} partition={} offset={} outputs={}",
                      options_.stage_name, record.topic, record.partition, record.offset,
                      outputs->size());
        return std::move(*outputs);
      }
      if (!outputs.error().is_retryable()) {
        spdlog::warn("{}.dead_lettered topic={} partition={} offset={} reason=\"{}\"",
                     options_.stage_name, record.topic, record.partition, record.offset,
                     outputs.error().message);
        return std::vector<OutboundRecord>{
            dead_letter_record(record, outputs.error(), options_.stage_name, options_.dlq_topic)};
      }
      spdlog::warn("{}.retry topic={} partition={} offset={} backoff_ms={} error=\"{}\"",
                   options_.stage_name, record.topic, record.partition, record.offset,
                   backoff.count(), outputs.error().message);
      if (!waiter.wait(backoff, stop)) return std::nullopt;
      backoff = std::min(backoff * 2, options_.max_backoff);
    }
  }

  void store_ready(Consumer& consumer) {
    for (const auto& [partition, next] : tracker_.take_ready()) {
      if (auto stored = consumer.store_offset(partition, next); !stored) {
        spdlog::warn("{}.store_offset_failed topic={} partition={} error=\"{}\"",
                     options_.stage_name, partition.topic, partition.partition,
                     stored.error().message);
      }
    }
  }

  void drain(Consumer& consumer) {
    if (!producer_.flush(std::chrono::seconds(30))) {
      spdlog::warn("{}.flush_timeout in_flight={}", options_.stage_name, tracker_.in_flight());
    }
    store_ready(consumer);
  }

  Stage& stage_;
  Producer& producer_;
  RunnerOptions options_;
  OffsetTracker tracker_;
  Consumer* consumer_ = nullptr;  ///< set while run() runs: lets backoff waits keep polling
};

}  // namespace otp::kafka
