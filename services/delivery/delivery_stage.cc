#include "services/delivery/delivery_stage.h"

#include "common/crypto/digest.h"
#include "common/log/log.h"
#include "services/delivery/message_renderer.h"

#include <spdlog/spdlog.h>

namespace otp::delivery {

DeliveryStage::DeliveryStage(messages::Channel channel, Provider& provider,
                             const crypto::Sealer& sealer, const Clock& clock,
                             messages::Topics topics, std::string brand)
    : channel_(channel),
      provider_(provider),
      sealer_(sealer),
      clock_(clock),
      topics_(std::move(topics)),
      brand_(std::move(brand)) {}

Result<messages::DeliveryJob> DeliveryStage::decode(const kafka::Record& record) const {
  auto job = messages::decode_delivery_job(record.value);
  if (job && job->channel != channel_) {
    return fail(Errc::kInvalidInput,
                "delivery job for channel " + std::string(messages::to_string(job->channel)) +
                    " on the " + std::string(messages::to_string(channel_)) + " topic");
  }
  return job;
}

Result<std::vector<kafka::OutboundRecord>> DeliveryStage::handle(const messages::DeliveryJob& job) {
  auto now = clock_.now();
  if (now >= job.deadline) {
    spdlog::info("delivery.expired verification_id={} job_id={} attempt={}", job.verification_id,
                 job.job_id, job.attempt);
    return std::vector{event(job, "delivery.expired", {{"attempt", job.attempt}})};
  }
  auto code = sealer_.unseal(job.sealed_code, job.verification_id);
  if (!code) return tl::unexpected(code.error());  // poison: dead-lettered by the runner

  auto expires_in = std::chrono::ceil<std::chrono::minutes>(job.expires_at - now);
  auto rendered = render_message(channel_, brand_, *code, expires_in);
  OutboundMessage message{.tenant = job.tenant,
                          .verification_id = job.verification_id,
                          .job_id = job.job_id,
                          .channel = std::string(messages::to_string(channel_)),
                          .to = job.recipient,
                          .body = std::move(rendered.body),
                          .subject = std::move(rendered.subject)};
  auto receipt = provider_.send(message);
  if (receipt) {
    spdlog::info("delivery.sent verification_id={} provider={} recipient={} latency_ms={}",
                 job.verification_id, receipt->provider, log::mask_recipient(job.recipient),
                 receipt->latency.count());
    return std::vector{event(job, "delivery.sent",
                             {{"provider", receipt->provider},
                              {"provider_message_id", receipt->message_id},
                              {"latency_ms", receipt->latency.count()},
                              {"attempt", job.attempt}})};
  }
  if (receipt.error().is_retryable()) {
    return tl::unexpected(receipt.error());  // the runner retries; the deadline still holds
  }
  spdlog::warn("delivery.failed verification_id={} provider={} recipient={} reason=\"{}\"",
               job.verification_id, provider_.name(), log::mask_recipient(job.recipient),
               receipt.error().message);
  return std::vector{event(job, "delivery.failed",
                           {{"provider", std::string(provider_.name())},
                            {"error_code", std::string(to_string(receipt.error().code))},
                            {"reason", receipt.error().message},
                            {"attempt", job.attempt}})};
}

kafka::OutboundRecord DeliveryStage::event(const messages::DeliveryJob& job, std::string type,
                                           nlohmann::json data) const {
  data["channel"] = messages::to_string(channel_);
  data["job_id"] = job.job_id;
  auto id = crypto::derived_uuid(job.tenant + "|" + job.job_id + "|" + std::to_string(job.attempt) +
                                 "|" + type);
  messages::Event event{.id = std::move(id),
                        .type = std::move(type),
                        .source = "otp-delivery",
                        .time = clock_.now(),
                        .tenant = job.tenant,
                        .verification_id = job.verification_id,
                        .data = std::move(data)};
  return kafka::OutboundRecord{.topic = topics_.events,
                               .key = job.verification_id,
                               .value = messages::encode(event),
                               .headers = {},
                               .partition = std::nullopt};
}

}  // namespace otp::delivery
