#pragma once

#include "common/error/error.h"
#include "common/kafka/consumer.h"
#include "common/kafka/producer.h"
#include "common/random/rng.h"
#include "services/intake/pending_replies.h"
#include "services/intake/request_publisher.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>

namespace otp::intake {

/// Header that marks a readiness probe on the replies topic (value: `<router nonce>:<n>`).
inline constexpr char kHeaderProbe[] = "otp_probe";

/// Reads this instance's partition of the replies topic on its own thread and completes the
/// pending request each reply names (by correlation id). Replies nobody waits for (late ones,
/// after their deadline) are dropped with a debug line; undecodable ones with a warning.
///
/// The partition is assigned from its end, outside any consumer group balancing, and offsets
/// are never committed: replies are only useful to the requests waiting right now.
///
/// Readiness. An assignment from the end is only effective once librdkafka has looked the end
/// offset up, and a reply written before that moment would be skipped. So the router publishes a
/// small probe record to its own partition (header `otp_probe`, empty value) and counts as
/// positioned once it reads one back; from then on a probe every `probe_interval` shows that
/// Kafka still answers (both producing and fetching, the exact path replies take). Until
/// positioned, probes repeat every `probe_retry`. Nothing but intakes reads the replies topic,
/// and they ignore probes.
///
/// Lifetime: `start` once, `stop` (or the destructor) joins the thread and closes the consumer.
/// The consumer is used by the router's thread only. The readiness accessors are thread-safe.
class ReplyRouter final : public ReplyReadiness {
 public:
  struct Settings {
    std::string topic;
    std::int32_t partition = 0;
    std::chrono::milliseconds poll_timeout{100};
    std::chrono::milliseconds probe_interval{5000};
    std::chrono::milliseconds probe_retry{500};
    /// Ready only if a probe came back within this window.
    std::chrono::milliseconds ready_window{15000};
  };

  ReplyRouter(kafka::Consumer& consumer, kafka::Producer& producer, PendingReplies& pending,
              Rng& rng, Settings settings);
  ~ReplyRouter() override;
  ReplyRouter(const ReplyRouter&) = delete;
  ReplyRouter& operator=(const ReplyRouter&) = delete;

  /// Assigns the partition from its end and starts the thread.
  [[nodiscard]] Result<void> start();

  /// Waits until the router is positioned; false on timeout or if it failed.
  bool wait_positioned(std::chrono::milliseconds timeout) const;

  /// From now on requests are refused and /readyz reports not ready (graceful shutdown: the load
  /// balancer stops sending while pending replies still arrive).
  void begin_drain() noexcept;

  /// Stops the thread and closes the consumer. Idempotent.
  void stop();

  /// The consumer reported a fatal error and the thread ended: the process should exit.
  [[nodiscard]] bool failed() const noexcept;

  [[nodiscard]] bool accepting_requests() const override;
  [[nodiscard]] std::optional<std::string> unready_reason() const override;

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;

  void run(const std::stop_token& stop);
  void send_probe_if_due(SteadyTime now);
  void route(const kafka::Record& record);

  kafka::Consumer& consumer_;
  kafka::Producer& producer_;
  PendingReplies& pending_;
  Settings settings_;
  std::string nonce_;

  // Router thread only.
  std::optional<SteadyTime> last_probe_sent_;
  std::uint64_t probes_sent_ = 0;

  std::atomic<bool> positioned_{false};
  std::atomic<bool> draining_{false};
  std::atomic<bool> failed_{false};
  /// steady_clock ticks of the last probe read back; 0 = never.
  std::atomic<std::int64_t> last_round_trip_{0};

  std::jthread thread_;
  bool stopped_ = false;
};

}  // namespace otp::intake
