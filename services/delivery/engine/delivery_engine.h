#pragma once

#include "common/kafka/consumer.h"
#include "common/kafka/offset_tracker.h"
#include "common/kafka/producer.h"
#include "services/delivery/delivery_stage.h"
#include "services/delivery/engine/async_provider.h"
#include "services/delivery/engine/circuit_breaker.h"
#include "services/delivery/engine/pacer.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

namespace otp::delivery {

/// One provider of the channel, in failover order, with its pacing and breaker settings.
struct ProviderSlot {
  std::shared_ptr<AsyncProvider> provider;
  double rate_per_second = 0;  ///< 0: no pacing
  double burst = 1;
  BreakerPolicy breaker;
};

struct EngineOptions {
  std::size_t concurrency = 256;  ///< provider requests in flight (OTP_DELIVERY_CONCURRENCY)
  /// Jobs read from the channel topic and not finished yet (in flight, waiting for pacing or a
  /// free slot); at it the engine stops taking records from the topic (back-pressure: the next
  /// ones wait in librdkafka's bounded prefetch queue) until a job finishes.
  std::size_t max_pending_jobs = 1024;
  /// Retry-topic jobs held in memory until their `not_before`; the same back-pressure.
  std::size_t max_held_retries = 20000;
  /// How long a feed may stay full without being polled. Past it the topic is paused and polling
  /// resumes (records fetched meanwhile are rewound), so the group membership stays alive (far
  /// below librdkafka's max.poll.interval.ms); it resumes below half its limit. Pausing is kept
  /// for long stalls only: librdkafka drops its prefetch on pause and fetches again only ~0.5 s
  /// after a resume, which starved the senders when it happened on every burst.
  std::chrono::milliseconds pause_after{5000};
  std::chrono::milliseconds idle_poll{50};
  /// How long shutdown and a partition revocation wait for sends in flight.
  std::chrono::milliseconds drain_timeout{15000};
  std::string stage_name = "delivery";
  std::string dlq_topic;
};

/// Counters for logs, tests and the benchmark. Monotonic.
struct EngineStats {
  std::uint64_t consumed = 0;
  std::uint64_t sends_started = 0;
  std::uint64_t sent = 0;
  std::uint64_t send_failures = 0;
  std::uint64_t expired = 0;
  std::uint64_t deferred = 0;
  std::uint64_t dead_lettered = 0;
};

/// The delivery loop: keeps up to `concurrency` provider requests in flight while it keeps polling
/// Kafka, and stores a record's offset only when its job reached a terminal output for this
/// worker (sent, failed, expired, retry scheduled, fallback published, dead-lettered) and every
/// output was acknowledged. Out-of-order completion is handled by `OffsetTracker` (an offset is
/// stored once every earlier record of its partition is done), so a crash never skips a job; it
/// may send a job again that was in flight (at-least-once: at most one duplicate per crash).
///
/// Two consumers, both polled from the `run` thread and never blocked: the channel topic, and the
/// shared retry topic, whose jobs are held in memory until their `not_before` (other channels'
/// retries are acknowledged and skipped). Before every send: the deadline (nothing is sent after
/// it, even after waiting), the provider's circuit breaker (an open one moves the job to the next
/// provider, or defers it to the retry topic) and its pacing (the job waits in memory for a
/// token). Provider callbacks only queue their result; all decisions run on the `run` thread.
class DeliveryEngine {
 public:
  DeliveryEngine(DeliveryStage& stage, std::vector<ProviderSlot> providers,
                 kafka::Producer& producer, const Clock& clock, EngineOptions options);
  ~DeliveryEngine();
  DeliveryEngine(const DeliveryEngine&) = delete;
  DeliveryEngine& operator=(const DeliveryEngine&) = delete;

  /// Consumes both until `stop`, then waits for sends in flight (up to `drain_timeout`), flushes,
  /// stores offsets and closes both consumers. An error: a consumer failed for good or an output
  /// could not be produced (nothing after it was stored; the process should exit).
  Result<void> run(kafka::Consumer& jobs, kafka::Consumer& retries, const std::atomic<bool>& stop);

  [[nodiscard]] EngineStats stats() const;

  struct Job;

 private:
  enum class Source { kJobs, kRetries };
  struct Feed;

  void take_record(const std::shared_ptr<Feed>& feed, const kafka::Record& record);
  void handle_completions();
  void release_due_jobs();
  void dispatch_ready();
  void dispatch(const std::shared_ptr<Job>& job);
  void finish(const std::shared_ptr<Job>& job, std::vector<kafka::OutboundRecord> outputs);
  void emit(const std::shared_ptr<Feed>& feed,
            const std::shared_ptr<kafka::OffsetTracker::Pending>& pending,
            std::vector<kafka::OutboundRecord> outputs);
  void produce_pending();
  void store_offsets(Feed& feed);
  void poll_feed(const std::shared_ptr<Feed>& feed, std::chrono::milliseconds timeout,
                 std::size_t max_records);
  void update_back_pressure(Feed& feed);
  /// Records `feed` may take now: its free room; while paused a full batch (they are rewound).
  [[nodiscard]] std::size_t room(const Feed& feed) const;
  void revoke(Feed& feed, const std::vector<kafka::TopicPartition>& partitions);
  void drain(const std::function<bool()>& done, std::chrono::milliseconds limit);

  DeliveryStage& stage_;
  struct Provider;
  std::vector<std::unique_ptr<Provider>> providers_;
  kafka::Producer& producer_;
  const Clock& clock_;
  EngineOptions options_;

  std::shared_ptr<Feed> jobs_feed_;
  std::shared_ptr<Feed> retries_feed_;

  std::deque<std::shared_ptr<Job>> ready_;
  std::multimap<TimePoint, std::shared_ptr<Job>> waiting_;  ///< not_before or pacing
  struct PendingOutput;
  std::deque<PendingOutput> unproduced_;  ///< outputs the producer refused for now (queue full)

  struct Inbox;
  std::shared_ptr<Inbox> inbox_;  ///< provider results; shared with the callbacks
  std::unordered_set<std::shared_ptr<Job>> flying_;
  std::optional<Error> fatal_;

  mutable std::mutex stats_mutex_;
  EngineStats stats_;  // guarded by stats_mutex_
};

}  // namespace otp::delivery
