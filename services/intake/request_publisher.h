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

/// Receives, exactly once, whether a record published without waiting for a reply is in Kafka:
/// success once the broker acknowledged it, kUnavailable if it was not published (refused by the
/// producer or the broker, not acknowledged within `message.timeout.ms`, or the intake cannot
/// take requests now). Called on the producer's delivery thread or the caller of `publish_only`.
using PublishCallback = std::function<void(const Result<void>& published)>;

/// Publishes a request to the generator and waits for its reply without blocking: the seam
/// between the HTTP handlers and Kafka. Tests substitute a fake that answers as scripted.
/// Implementations are thread-safe.
class RequestPublisher {
 public:
  virtual ~RequestPublisher() = default;

  /// Publishes `record` (adding the correlation and reply-partition headers) and calls `done`
  /// exactly once with the outcome. Never blocks on the network.
  virtual void publish(kafka::OutboundRecord record, ReplyCallback done) = 0;

  /// Publishes `record` for a client that does not wait for the generator (`Prefer:
  /// respond-async`): no correlation or reply-partition header, so the generator answers nobody,
  /// and nothing waits for a reply. Calls `done` exactly once with the broker's verdict. Never
  /// blocks on the network.
  virtual void publish_only(kafka::OutboundRecord record, PublishCallback done) = 0;
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
