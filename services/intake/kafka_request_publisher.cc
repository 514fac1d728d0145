#include "services/intake/kafka_request_publisher.h"

#include "common/messages/topics.h"

#include <spdlog/spdlog.h>

#include <memory>

namespace otp::intake {

KafkaRequestPublisher::KafkaRequestPublisher(kafka::Producer& producer, PendingReplies& pending,
                                             const ReplyReadiness& readiness, Rng& rng,
                                             Settings settings)
    : producer_(producer),
      pending_(pending),
      readiness_(readiness),
      rng_(rng),
      settings_(settings) {}

void KafkaRequestPublisher::publish(kafka::OutboundRecord record, ReplyCallback done) {
  // A reply published before the consumer is positioned would be missed, and a verify whose
  // answer is missed may still have used up an attempt: refuse rather than guess.
  if (!readiness_.accepting_requests()) {
    done(fail(Errc::kUnavailable, "replies cannot be received yet"));
    return;
  }
  std::string correlation_id = new_uuid(rng_);
  record.headers.emplace_back(messages::kHeaderCorrelationId, correlation_id);
  record.headers.emplace_back(messages::kHeaderReplyPartition,
                              std::to_string(settings_.reply_partition));
  // Registered before producing: the delivery report (or even the reply) may come at once.
  pending_.add(correlation_id, std::chrono::steady_clock::now() + settings_.reply_timeout,
               std::move(done));
  PendingReplies& pending = pending_;
  auto enqueued =
      producer_.produce(record, [&pending, correlation_id](const Result<void>& delivered) {
        if (delivered) {
          pending.mark_published(correlation_id);
          return;
        }
        spdlog::warn("intake.publish_failed correlation_id={} reason=\"{}\"", correlation_id,
                     delivered.error().message);
        pending.fail(correlation_id, Error{Errc::kUnavailable, delivered.error().message});
      });
  if (!enqueued) {
    spdlog::warn("intake.enqueue_failed correlation_id={} reason=\"{}\"", correlation_id,
                 enqueued.error().message);
    pending_.fail(correlation_id, Error{Errc::kUnavailable, enqueued.error().message});
  }
}

void KafkaRequestPublisher::publish_only(kafka::OutboundRecord record, PublishCallback done) {
  if (!readiness_.accepting_requests()) {
    done(fail(Errc::kUnavailable, "the intake cannot take requests now"));
    return;
  }
  // A refused enqueue never reports (producer.h), so either the delivery report or the refusal
  // below calls `done`, never both: the two share it.
  auto shared = std::make_shared<PublishCallback>(std::move(done));
  auto enqueued = producer_.produce(record, [shared](const Result<void>& delivered) {
    if (!delivered) {
      spdlog::warn("intake.publish_failed reason=\"{}\"", delivered.error().message);
      (*shared)(fail(Errc::kUnavailable, delivered.error().message));
      return;
    }
    (*shared)(delivered);
  });
  if (!enqueued) {
    spdlog::warn("intake.enqueue_failed reason=\"{}\"", enqueued.error().message);
    (*shared)(fail(Errc::kUnavailable, enqueued.error().message));
  }
}

}  // namespace otp::intake
