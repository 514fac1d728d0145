#include "services/delivery/delivery_stage.h"

#include "common/crypto/digest.h"
#include "common/kafka/dead_letter.h"
#include "common/log/log.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

namespace otp::delivery {
namespace {

constexpr char kStageName[] = "otp-delivery";

bool can_address(messages::Channel channel, const std::string& recipient) {
  if (channel == messages::Channel::kEmail) return recipient.find('@') != std::string::npos;
  return recipient.starts_with('+');
}

/// The source headers a derived record keeps: everything but the dead-letter annotations.
std::vector<kafka::Header> carried_headers(const kafka::Record& record) {
  std::vector<kafka::Header> headers;
  for (const auto& header : record.headers) {
    if (!header.first.starts_with("dlq_")) headers.push_back(header);
  }
  return headers;
}

std::optional<std::int32_t> parse_partition(const std::string& text) {
  std::int32_t value = -1;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

}  // namespace

DeliveryStage::DeliveryStage(messages::Channel channel, std::vector<std::string> providers,
                             const crypto::Sealer& sealer, const Clock& clock, Rng& rng,
                             messages::Topics topics, RenderFunction render, RetryPolicy policy)
    : channel_(channel),
      providers_(std::move(providers)),
      sealer_(sealer),
      clock_(clock),
      rng_(rng),
      topics_(std::move(topics)),
      render_(std::move(render)),
      policy_(policy) {}

Result<std::optional<Delivery>> DeliveryStage::decode(const kafka::Record& record) const {
  auto job = messages::decode_delivery_job(record.value);
  if (!job) return tl::unexpected(job.error());
  if (job->channel != channel_) {
    // The retry topic is shared by the channels: the others' jobs are not ours to do.
    if (record.topic == topics_.delivery_retry) return std::optional<Delivery>();
    return fail(Errc::kInvalidInput,
                "delivery job for channel " + std::string(messages::to_string(job->channel)) +
                    " on the " + std::string(messages::to_string(channel_)) + " topic");
  }
  return std::optional<Delivery>(Delivery{.job = std::move(*job), .record = record});
}

bool DeliveryStage::past_deadline(const Delivery& delivery) const {
  return clock_.now() >= delivery.job.deadline;
}

Result<PreparedMessage> DeliveryStage::prepare(const Delivery& delivery) const {
  const auto& job = delivery.job;
  auto code = sealer_.unseal(job.sealed_code, job.verification_id);
  if (!code) return tl::unexpected(code.error());
  auto expires_in = std::chrono::ceil<std::chrono::minutes>(job.expires_at - clock_.now());
  auto rendered = render_(RenderInput{.tenant = job.tenant,
                                      .channel = channel_,
                                      .recipient = job.recipient,
                                      .locale = job.locale,
                                      .template_name = job.template_name,
                                      .sender = job.sender,
                                      .code = *code,
                                      .expires_in = expires_in,
                                      .app_hash = job.app_hash});
  if (!rendered) return tl::unexpected(rendered.error());
  return PreparedMessage{
      .message = OutboundMessage{.tenant = job.tenant,
                                 .verification_id = job.verification_id,
                                 .job_id = job.job_id,
                                 .channel = std::string(messages::to_string(channel_)),
                                 .to = job.recipient,
                                 .body = std::move(rendered->body),
                                 .subject = std::move(rendered->subject),
                                 .text = std::move(rendered->text),
                                 .sender = std::move(rendered->sender),
                                 .code = std::move(*code),
                                 .locale = rendered->locale,
                                 .expires_in = expires_in},
      .segments = rendered->segments,
      .encoding = rendered->encoding};
}

std::vector<kafka::OutboundRecord> DeliveryStage::sent(const Delivery& delivery,
                                                       const ProviderReceipt& receipt,
                                                       const PreparedMessage& prepared) const {
  const auto& job = delivery.job;
  spdlog::info(
      "delivery.sent verification_id={} job_id={} provider={} recipient={} latency_ms={} "
      "attempt={}",
      job.verification_id, job.job_id, receipt.provider, log::mask_recipient(job.recipient),
      receipt.latency.count(), job.attempt);
  nlohmann::json data = {{"provider", receipt.provider},
                         {"provider_message_id", receipt.message_id},
                         {"latency_ms", receipt.latency.count()},
                         {"attempt", job.attempt},
                         {"segments", prepared.segments}};
  if (!prepared.encoding.empty()) data["encoding"] = prepared.encoding;
  std::vector<kafka::OutboundRecord> out{event(job, "delivery.sent", std::move(data), false)};
  if (auto answer = reply(delivery, messages::Outcome::kDelivered, receipt.provider, "")) {
    out.push_back(std::move(*answer));
  }
  return out;
}

std::vector<kafka::OutboundRecord> DeliveryStage::failed(const Delivery& delivery,
                                                         std::string_view provider,
                                                         const Error& error,
                                                         std::chrono::milliseconds latency) {
  const auto& job = delivery.job;
  const auto now = clock_.now();
  std::vector<kafka::OutboundRecord> out{event(job, "delivery.attempted",
                                               {{"provider", std::string(provider)},
                                                {"error_code", std::string(to_string(error.code))},
                                                {"reason", error.message},
                                                {"latency_ms", latency.count()},
                                                {"attempt", job.attempt}},
                                               true)};

  if (error.is_retryable() && job.attempt + 1 < policy_.max_attempts) {
    const auto delay = retry_delay(policy_, job.attempt, retry_after(error), rng_);
    const auto when = now + delay;
    if (when < job.deadline) {
      spdlog::info(
          "delivery.retry_scheduled verification_id={} job_id={} provider={} attempt={} "
          "delay_ms={} reason=\"{}\"",
          job.verification_id, job.job_id, provider, job.attempt + 1, delay.count(), error.message);
      auto retry = job;
      retry.attempt += 1;
      retry.not_before = when;
      out.push_back(retry_record(delivery, std::move(retry)));
      return out;
    }
  }
  // This provider will not deliver this job in time: fail over to the next one, if any.
  auto next = job;
  next.not_before.reset();
  if (std::find(next.failed_providers.begin(), next.failed_providers.end(), provider) ==
      next.failed_providers.end()) {
    next.failed_providers.emplace_back(provider);
  }
  const bool provider_left = std::any_of(providers_.begin(), providers_.end(), [&](const auto& p) {
    return std::find(next.failed_providers.begin(), next.failed_providers.end(), p) ==
           next.failed_providers.end();
  });
  if (provider_left) {
    spdlog::warn("delivery.failover verification_id={} job_id={} from={} attempt={} reason=\"{}\"",
                 job.verification_id, job.job_id, provider, job.attempt + 1, error.message);
    next.attempt += 1;
    next.not_before = now;
    out.push_back(retry_record(delivery, std::move(next)));
    return out;
  }
  auto ended = channel_failed(delivery, std::move(next), provider, error);
  out.insert(out.end(), std::make_move_iterator(ended.begin()),
             std::make_move_iterator(ended.end()));
  return out;
}

std::vector<kafka::OutboundRecord> DeliveryStage::channel_failed(const Delivery& delivery,
                                                                 messages::DeliveryJob job,
                                                                 std::string_view provider,
                                                                 const Error& error) const {
  nlohmann::json data = {{"provider", std::string(provider)},
                         {"error_code", std::string(to_string(error.code))},
                         {"reason", error.message},
                         {"attempt", job.attempt},
                         {"failed_providers", job.failed_providers}};
  // The first fallback channel that can address this recipient (an email address cannot get an
  // SMS); channels that cannot are skipped.
  auto fallbacks = job.fallback_channels;
  while (!fallbacks.empty() && !can_address(fallbacks.front(), job.recipient)) {
    fallbacks.erase(fallbacks.begin());
  }
  if (!fallbacks.empty()) {
    const auto channel = fallbacks.front();
    fallbacks.erase(fallbacks.begin());
    auto next = job;
    next.channel = channel;
    next.job_id = job.job_id + "." + std::string(messages::to_string(channel));
    next.attempt = 0;
    next.failed_providers.clear();
    next.not_before.reset();
    next.fallback_channels = fallbacks;
    data["fallback_channel"] = messages::to_string(channel);
    data["fallback_job_id"] = next.job_id;
    spdlog::warn("delivery.fallback verification_id={} job_id={} to={} recipient={} reason=\"{}\"",
                 job.verification_id, job.job_id, messages::to_string(channel),
                 log::mask_recipient(job.recipient), error.message);
    std::vector<kafka::OutboundRecord> out{event(job, "delivery.failed", std::move(data), false)};
    out.push_back(kafka::OutboundRecord{.topic = topics_.delivery(channel),
                                        .key = job.verification_id,
                                        .value = messages::encode(next),
                                        .headers = carried_headers(delivery.record),
                                        .partition = std::nullopt});
    return out;
  }
  spdlog::warn(
      "delivery.failed verification_id={} job_id={} provider={} recipient={} reason=\"{}\"",
      job.verification_id, job.job_id, provider, log::mask_recipient(job.recipient), error.message);
  std::vector<kafka::OutboundRecord> out{event(job, "delivery.failed", std::move(data), false)};
  out.push_back(dead_letter(delivery, job, error));
  if (auto answer = reply(delivery, messages::Outcome::kDeliveryFailed, "",
                          "delivery failed: " + std::string(to_string(error.code)))) {
    out.push_back(std::move(*answer));
  }
  return out;
}

std::vector<kafka::OutboundRecord> DeliveryStage::expired(const Delivery& delivery) const {
  const auto& job = delivery.job;
  spdlog::info("delivery.expired verification_id={} job_id={} attempt={}", job.verification_id,
               job.job_id, job.attempt);
  std::vector<kafka::OutboundRecord> out{
      event(job, "delivery.expired", {{"attempt", job.attempt}}, false)};
  if (auto answer =
          reply(delivery, messages::Outcome::kDeliveryFailed, "", "delivery deadline passed")) {
    out.push_back(std::move(*answer));
  }
  return out;
}

std::vector<kafka::OutboundRecord> DeliveryStage::deferred(const Delivery& delivery,
                                                           TimePoint when) const {
  auto job = delivery.job;
  job.not_before = when;
  return {retry_record(delivery, std::move(job))};
}

std::vector<kafka::OutboundRecord> DeliveryStage::poisoned(const Delivery& delivery,
                                                           const Error& error) const {
  const auto& job = delivery.job;
  spdlog::warn("delivery.poisoned verification_id={} job_id={} reason=\"{}\"", job.verification_id,
               job.job_id, error.message);
  std::vector<kafka::OutboundRecord> out{event(job, "delivery.failed",
                                               {{"error_code", std::string(to_string(error.code))},
                                                {"reason", error.message},
                                                {"attempt", job.attempt}},
                                               false)};
  out.push_back(dead_letter(delivery, job, error));
  if (auto answer = reply(delivery, messages::Outcome::kDeliveryFailed, "",
                          "delivery failed: " + std::string(to_string(error.code)))) {
    out.push_back(std::move(*answer));
  }
  return out;
}

kafka::OutboundRecord DeliveryStage::event(const messages::DeliveryJob& job, std::string type,
                                           nlohmann::json data, bool per_attempt) const {
  data["channel"] = messages::to_string(channel_);
  data["job_id"] = job.job_id;
  std::string cause = job.tenant + "|" + job.job_id + "|";
  if (per_attempt) cause += std::to_string(job.attempt) + "|";
  auto id = crypto::derived_uuid(cause + type);
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

kafka::OutboundRecord DeliveryStage::retry_record(const Delivery& delivery,
                                                  const messages::DeliveryJob& job) const {
  return kafka::OutboundRecord{.topic = topics_.delivery_retry,
                               .key = job.verification_id,
                               .value = messages::encode(job),
                               .headers = carried_headers(delivery.record),
                               .partition = std::nullopt};
}

std::optional<kafka::OutboundRecord> DeliveryStage::reply(const Delivery& delivery,
                                                          messages::Outcome outcome,
                                                          std::string provider,
                                                          std::string message) const {
  auto correlation = delivery.record.header(kHeaderDeliveryCorrelationId);
  auto partition_text = delivery.record.header(messages::kHeaderReplyPartition);
  if (!correlation || correlation->empty() || !partition_text) return std::nullopt;
  auto partition = parse_partition(*partition_text);
  if (!partition) return std::nullopt;
  const auto& job = delivery.job;
  messages::Reply answer{.correlation_id = *correlation,
                         .request_id = job.job_id,
                         .kind = messages::RequestKind::kSend,
                         .tenant = job.tenant,
                         .verification_id = job.verification_id,
                         .outcome = outcome,
                         .status = messages::Status::kPending,
                         .attempts_remaining = std::nullopt,
                         .expires_at = job.expires_at,
                         .channel = channel_,
                         .code_length = std::nullopt,
                         .retry_after_seconds = std::nullopt,
                         .message = std::move(message),
                         .rate_limit_limit = std::nullopt,
                         .rate_limit_remaining = std::nullopt,
                         .rate_limit_reset_seconds = std::nullopt,
                         .provider = std::move(provider)};
  return kafka::OutboundRecord{.topic = topics_.replies,
                               .key = *correlation,
                               .value = messages::encode(answer),
                               .headers = {{messages::kHeaderCorrelationId, *correlation}},
                               .partition = *partition};
}

kafka::OutboundRecord DeliveryStage::dead_letter(const Delivery& delivery,
                                                 const messages::DeliveryJob& job,
                                                 const Error& error) const {
  // Parked as a fresh job of its channel: `otpctl dlq redrive` republishes it to the channel's
  // topic, where every provider gets a new chance (the deadline still holds).
  auto parked = job;
  parked.failed_providers.clear();
  parked.not_before.reset();
  kafka::Record source = delivery.record;
  source.topic = topics_.delivery(job.channel);
  source.value = messages::encode(parked);
  source.headers = carried_headers(delivery.record);
  return kafka::dead_letter_record(source, error, kStageName, topics_.dlq);
}

}  // namespace otp::delivery
