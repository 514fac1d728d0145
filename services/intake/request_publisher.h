#pragma once

#include "common/error/error.h"
#include "common/kafka/record.h"
#include "common/messages/messages.h"

#include <functional>
#include <optional>
#include <string>

namespace otp::intake {

/// How a published request ended: the generator's Reply, or
///   - kUnavailable: the request was not published (not accepted by the producer, refused by the
///     broker, not acknowledged before the deadline, or replies cannot be received right now);
///   - kTimeout: the request was published but no reply came before the deadline.
using ReplyResult = Result<messages::Reply>;

/// Receives a ReplyResult exactly once, on whichever thread decided it (the reply consumer, the
/// deadline sweeper, the producer's delivery thread, or the caller of `publish`).
using ReplyCallback = std::function<void(const ReplyResult& result)>;

/// Publishes a request to the generator and waits for its reply without blocking: the seam
/// between the HTTP handlers and Kafka. Tests substitute a fake that answers as scripted.
/// Implementations are thread-safe.
class RequestPublisher {
 public:
  virtual ~RequestPublisher() = default;

  /// Publishes `record` (adding the correlation and reply-partition headers) and calls `done`
  /// exactly once with the outcome. Never blocks on the network.
  virtual void publish(kafka::OutboundRecord record, ReplyCallback done) = 0;
};

/// Whether replies can currently be received, as reported by the reply consumer. Thread-safe.
class ReplyReadiness {
 public:
  virtual ~ReplyReadiness() = default;

  /// The reply consumer is assigned and positioned, so a reply published from now on will be
  /// seen; requests are refused (503) while this is false.
  [[nodiscard]] virtual bool accepting_requests() const = 0;

  /// Why the process should not get traffic, or nullopt when it is ready (accepting requests
  /// and Kafka answered recently). Drives GET /readyz.
  [[nodiscard]] virtual std::optional<std::string> unready_reason() const = 0;
};

}  // namespace otp::intake
