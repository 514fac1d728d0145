#pragma once

#include "services/intake/pending_replies.h"
#include "services/intake/request_publisher.h"

#include <chrono>
#include <string>

namespace otp::intake::compat {

/// Kafka header naming the correlation id of the delivery worker's reply (CONTEXT contract: the
/// generator copies it onto the delivery job; the worker answers on `reply_partition` with a
/// Reply whose correlation id is this value, outcome `delivered` or `delivery_failed`).
inline constexpr char kHeaderDeliveryCorrelationId[] = "delivery_correlation_id";

/// Waits for a second reply to a published request: the delivery worker's outcome. The seam
/// between the seed-000 handler and the reply router; tests deliver outcomes by hand.
/// Thread-safe.
class DeliveryWaits {
 public:
  virtual ~DeliveryWaits() = default;

  /// Registers a wait for the reply whose correlation id is `delivery_correlation_id`; `done`
  /// runs exactly once: with the reply, kTimeout after `timeout`, or with the error of `forget`.
  virtual void expect(const std::string& delivery_correlation_id, std::chrono::milliseconds timeout,
                      ReplyCallback done) = 0;

  /// Ends the wait early (the answer is already known); `done` runs with kInternal.
  virtual void forget(const std::string& delivery_correlation_id) = 0;
};

/// DeliveryWaits on the intake's PendingReplies, so delivery replies arrive through the same
/// reply router and deadline sweeper as the generator's. The waits count as published from the
/// start: their deadline ends them with kTimeout. Holds `pending` by reference.
class PendingDeliveryWaits final : public DeliveryWaits {
 public:
  explicit PendingDeliveryWaits(PendingReplies& pending) : pending_(pending) {}

  void expect(const std::string& delivery_correlation_id, std::chrono::milliseconds timeout,
              ReplyCallback done) override;
  void forget(const std::string& delivery_correlation_id) override;

 private:
  PendingReplies& pending_;
};

}  // namespace otp::intake::compat
