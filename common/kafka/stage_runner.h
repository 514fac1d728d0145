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
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace otp::kafka {

struct RunnerOptions {
  std::string stage_name;  ///< in logs and in the dead-letter headers
  std::string dlq_topic;
  std::chrono::milliseconds poll_timeout{100};
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{5000};
  /// StageRunner with a BatchingPipelineStage: hand it up to this many records at once (those a
  /// poll returns without waiting: a busy partition fills batches, an idle one adds no delay).
  /// 1: one record at a time.
  std::size_t max_batch = 1;
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
/// offset once every output is acknowledged. Records are processed in partition order, one at a
/// time or (a BatchingPipelineStage with `max_batch` > 1) in batches of what the consumer has
/// ready, but outputs are acknowledged asynchronously so a slow broker round trip does not stall
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
      revoked_.insert(revoked_.end(), revoked.begin(), revoked.end());
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
      if (!*polled) continue;
      if constexpr (BatchingPipelineStage<Stage>) {
        if (options_.max_batch > 1) {
          auto batch = collect_batch(consumer, std::move(**polled));
          if (!batch) {
            outcome = tl::unexpected(batch.error());
            break;
          }
          process_batch(*batch, stop);
          continue;
        }
      }
      process(**polled, stop);
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
    (void)enqueue(record, *outputs, stop, waiter);
  }

  /// Processes `records` (in partition order, as polled) through the stage's `handle_batch`, and
  /// enqueues the outputs record by record. From the first record that failed retryably on, the
  /// rest go through `process` one at a time (with its retries): they may have been handled
  /// already, which `handle` being idempotent makes harmless. Exposed for tests.
  void process_batch(std::span<const Record> records,
                     const std::atomic<bool>& stop) requires BatchingPipelineStage<Stage> {
    std::vector<typename Stage::Input> inputs;
    inputs.reserve(records.size());
    constexpr auto kNone = static_cast<std::size_t>(-1);
    std::vector<std::size_t> input_of(records.size(), kNone);
    std::vector<std::optional<Error>> poison(records.size());
    std::size_t cut = records.size();
    for (std::size_t i = 0; i < records.size(); ++i) {
      auto decoded = stage_.decode(records[i]);
      if (decoded) {
        input_of[i] = inputs.size();
        inputs.push_back(std::move(*decoded));
      } else if (!decoded.error().is_retryable()) {
        poison[i] = decoded.error();
      } else {
        cut = i;
        break;
      }
    }
    auto results = stage_.handle_batch(std::span<const typename Stage::Input>(inputs));
    BackoffWaiter waiter(consumer_);
    std::size_t done = 0;
    for (; done < cut; ++done) {
      const Record& record = records[done];
      if (input_of[done] != kNone && !results[input_of[done]] &&
          !results[input_of[done]].error().is_retryable()) {
        poison[done] = results[input_of[done]].error();
      }
      std::vector<OutboundRecord> outputs;
      if (poison[done]) {
        spdlog::warn("{}.dead_lettered topic={} partition={} offset={} reason=\"{}\"",
                     options_.stage_name, record.topic, record.partition, record.offset,
                     poison[done]->message);
        outputs.push_back(
            dead_letter_record(record, *poison[done], options_.stage_name, options_.dlq_topic));
      } else if (results[input_of[done]]) {
        outputs = std::move(*results[input_of[done]]);
      } else {
        break;  // retryable: this one and the rest one by one
      }
      spdlog::debug("{}.processed topic={} partition={} offset={} outputs={}", options_.stage_name,
                    record.topic, record.partition, record.offset, outputs.size());
      if (!enqueue(record, outputs, stop, waiter)) return;
    }
    for (; done < records.size(); ++done) {
      // Stopped: later records must not be stored past one that was not.
      if (stop.load()) return;
      process(records[done], stop);
    }
  }

  [[nodiscard]] OffsetTracker& tracker() { return tracker_; }

 private:
  /// `first` and whatever else the consumer has ready (no waiting), up to `max_batch`. Records
  /// of partitions revoked meanwhile are dropped: their new owner reads them again.
  Result<std::vector<Record>> collect_batch(Consumer& consumer, Record first) {
    std::vector<Record> batch;
    batch.push_back(std::move(first));
    revoked_.clear();
    while (batch.size() < options_.max_batch) {
      auto more = consumer.poll(std::chrono::milliseconds(0));
      if (!more) return tl::unexpected(more.error());
      if (!*more) break;
      batch.push_back(std::move(**more));
    }
    if (!revoked_.empty()) {
      std::erase_if(batch, [&](const Record& record) {
        return std::find(revoked_.begin(), revoked_.end(),
                         TopicPartition{record.topic, record.partition}) != revoked_.end();
      });
      revoked_.clear();
    }
    return batch;
  }

  /// Enqueues `outputs` of `record`, retrying a full producer queue with backoff; the offset is
  /// stored once all are acknowledged. False if `stop` was raised meanwhile.
  bool enqueue(const Record& record, const std::vector<OutboundRecord>& outputs,
               const std::atomic<bool>& stop, BackoffWaiter& waiter) {
    auto pending = tracker_.begin({record.topic, record.partition}, record.offset, outputs.size());
    for (const auto& output : outputs) {
      auto backoff = options_.initial_backoff;
      while (true) {
        auto enqueued = producer_.produce(output, [this, pending](const Result<void>& acked) {
          tracker_.complete(*pending, acked);
        });
        if (enqueued) break;
        spdlog::warn("{}.produce_retry topic={} error=\"{}\"", options_.stage_name, output.topic,
                     enqueued.error().message);
        if (!waiter.wait(backoff, stop)) return false;
        backoff = std::min(backoff * 2, options_.max_backoff);
      }
    }
    return true;
  }

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
  Consumer* consumer_ = nullptr;         ///< set while run() runs: lets backoff waits keep polling
  std::vector<TopicPartition> revoked_;  ///< revoked while a batch was being collected
};

}  // namespace otp::kafka
