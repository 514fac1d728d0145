#pragma once

#include "common/kafka/producer.h"
#include "common/random/rng.h"
#include "services/intake/pending_replies.h"
#include "services/intake/request_publisher.h"

#include <chrono>
#include <cstdint>

namespace otp::intake {

/// Publishes requests with a `kafka::Producer` and hands the wait for their replies to
/// `PendingReplies`.
///
/// Each request gets a fresh correlation id (UUID) and the headers `correlation_id` and
/// `reply_partition` (this instance's partition of the replies topic), is registered with a
/// deadline of now + `reply_timeout`, and is then enqueued. A refused enqueue or a failed delivery
/// report ends it with kUnavailable at once: a request the broker did not take is never reported
/// as pending. While `readiness` says replies cannot be received, requests are refused with
/// kUnavailable without being published.
///
/// Holds references to everything it is given; all must outlive it, and `pending` must also
/// outlive the producer's last delivery report (destroy the producer first). Thread-safe.
class KafkaRequestPublisher final : public RequestPublisher {
 public:
  struct Settings {
    std::int32_t reply_partition = 0;
    std::chrono::milliseconds reply_timeout{3000};
  };

  KafkaRequestPublisher(kafka::Producer& producer, PendingReplies& pending,
                        const ReplyReadiness& readiness, Rng& rng, Settings settings);

  void publish(kafka::OutboundRecord record, ReplyCallback done) override;

  /// The record as it is (no reply headers), registered nowhere: `done` gets the delivery report
  /// (or the refused enqueue). Refused like `publish` while `readiness` is not accepting requests,
  /// so start-up and shutdown answer every send alike.
  void publish_only(kafka::OutboundRecord record, PublishCallback done) override;

 private:
  kafka::Producer& producer_;
  PendingReplies& pending_;
  const ReplyReadiness& readiness_;
  Rng& rng_;
  Settings settings_;
};

}  // namespace otp::intake
