#include "services/generator/generator_stage.h"

#include "common/crypto/digest.h"
#include "common/crypto/hmac.h"
#include "common/error/check.h"
#include "common/log/log.h"
#include "services/generator/recipient_region.h"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <type_traits>

namespace otp::generator {
namespace {

using messages::Outcome;
using messages::RequestKind;
using messages::Status;
using nlohmann::json;

constexpr char kSource[] = "otp-generator";
constexpr std::size_t kMaxCorrelationIdLength = 128;

// A UUID-shaped id (version 8: "custom") from a hash of the event's cause, so reprocessing the
// same record yields the same event id and otp-audit keeps one copy.
std::string event_id(std::string_view tenant, std::string_view verification_id,
                     std::string_view request_id, std::string_view type) {
  std::string cause = "event|";
  cause.append(tenant).append("|").append(verification_id).append("|").append(request_id);
  cause.append("|").append(type);
  auto hex = crypto::sha256_hex(cause).substr(0, 32);
  hex[12] = '8';
  constexpr char kVariant[] = "89ab";
  hex[16] = kVariant[std::string_view("0123456789abcdef").find(hex[16]) & 3];
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

// Keyed, so ids cannot be predicted from request ids; deterministic, so a redelivered request
// without a verification id gets the same one.
std::string derive_verification_id(const crypto::Key& key, std::string_view tenant,
                                   std::string_view request_id) {
  std::string message = "verification_id|";
  message.append(tenant).append("|").append(request_id);
  return "otp_" + crypto::hmac_sha256_hex(key.bytes, message).substr(0, 32);
}

bool is_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == ':';
}

// Publishers outside the intake may skip its validation; a recipient that cannot be right for
// the channel is refused before any code exists.
bool is_plausible_recipient(std::string_view recipient, messages::Channel channel) {
  if (channel == messages::Channel::kEmail) {
    const auto at = recipient.find('@');
    return at != std::string_view::npos && at > 0 && at + 1 < recipient.size() &&
           recipient.find('@', at + 1) == std::string_view::npos &&
           std::none_of(recipient.begin(), recipient.end(),
                        [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
  }
  // E.164: '+', then 8 to 15 digits, the first not 0.
  if (recipient.size() < 9 || recipient.size() > 16 || recipient.front() != '+') return false;
  if (recipient[1] == '0') return false;
  return std::all_of(recipient.begin() + 1, recipient.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

void cleanse(std::string& secret) { OPENSSL_cleanse(secret.data(), secret.size()); }

// Whole seconds, rounded up: a client that waits this long finds the limit lifted.
int retry_after_seconds(std::chrono::milliseconds wait) {
  const auto ms = std::max<std::int64_t>(0, wait.count());
  return static_cast<int>(std::min<std::int64_t>((ms + 999) / 1000, 7 * 86'400));
}

// The reply outcome for a verification that is no longer pending.
Outcome settled_outcome(Status status) {
  switch (status) {
    case Status::kPending:
      return Outcome::kPending;
    case Status::kApproved:
      return Outcome::kAlreadyVerified;
    case Status::kCanceled:
      return Outcome::kCanceled;
    case Status::kMaxAttemptsReached:
      return Outcome::kMaxAttemptsReached;
    case Status::kExpired:
    case Status::kFailed:
      return Outcome::kExpired;
  }
  return Outcome::kExpired;
}

// A failed-check lock starts at this and doubles with every further lock of the subject.
constexpr std::chrono::milliseconds kLockBase{60'000};
constexpr std::chrono::milliseconds kLockMax{24 * 3600 * 1000};

Result<std::optional<ReplyRoute>> reply_route(const kafka::Record& record) {
  auto correlation_id = record.header(messages::kHeaderCorrelationId);
  auto partition = record.header(messages::kHeaderReplyPartition);
  if (!correlation_id && !partition) return std::nullopt;
  if (!correlation_id || !partition) {
    return fail(Errc::kInvalidInput,
                "reply headers: correlation_id and reply_partition go together");
  }
  if (correlation_id->empty() || correlation_id->size() > kMaxCorrelationIdLength ||
      !std::all_of(correlation_id->begin(), correlation_id->end(), is_id_char)) {
    return fail(Errc::kInvalidInput, "reply headers: correlation_id is not an id");
  }
  std::int32_t number = -1;
  const auto* end = partition->data() + partition->size();
  auto [ptr, ec] = std::from_chars(partition->data(), end, number);
  if (ec != std::errc{} || ptr != end || number < 0) {
    return fail(Errc::kInvalidInput, "reply headers: reply_partition is not a partition number");
  }
  return ReplyRoute{*correlation_id, number};
}

// `delivery_correlation_id` (and the `reply_partition` it answers on) ask the delivery worker to
// reply with the first delivery outcome: copied onto the delivery job as headers.
Result<std::vector<kafka::Header>> delivery_headers(const kafka::Record& record) {
  auto correlation_id = record.header(messages::kHeaderDeliveryCorrelationId);
  if (!correlation_id) return std::vector<kafka::Header>{};
  if (correlation_id->empty() || correlation_id->size() > kMaxCorrelationIdLength ||
      !std::all_of(correlation_id->begin(), correlation_id->end(), is_id_char)) {
    return fail(Errc::kInvalidInput, "delivery_correlation_id is not an id");
  }
  auto partition = record.header(messages::kHeaderReplyPartition);
  if (!partition) {
    return fail(Errc::kInvalidInput, "delivery_correlation_id needs a reply_partition header");
  }
  return std::vector<kafka::Header>{{messages::kHeaderDeliveryCorrelationId, *correlation_id},
                                    {messages::kHeaderReplyPartition, *partition}};
}

RequestKind kind_of(messages::SendAction action) {
  switch (action) {
    case messages::SendAction::kSend:
      return RequestKind::kSend;
    case messages::SendAction::kResend:
      return RequestKind::kResend;
    case messages::SendAction::kCancel:
      return RequestKind::kCancel;
    case messages::SendAction::kStatus:
      return RequestKind::kStatus;
  }
  return RequestKind::kSend;
}

// The tenant's fallback order for a job on `channel`: allowed channels that can reach the
// recipient (a phone number: sms, whatsapp; an address: email), this one excluded.
std::vector<messages::Channel> fallback_channels(const TenantSettings& settings,
                                                 messages::Channel channel) {
  const bool phone = channel != messages::Channel::kEmail;
  std::vector<messages::Channel> out;
  for (auto next : settings.channel_fallback) {
    const bool next_phone = next != messages::Channel::kEmail;
    if (next != channel && next_phone == phone && settings.allows(next)) out.push_back(next);
  }
  return out;
}

/// The reply every handler starts from: failed with `outcome` until the handler says otherwise.
messages::Reply reply_skeleton(RequestKind kind, const std::string& request_id,
                               const std::string& tenant, const std::string& verification_id,
                               Outcome outcome) {
  messages::Reply answer;
  answer.request_id = request_id;
  answer.kind = kind;
  answer.tenant = tenant;
  answer.verification_id = verification_id;
  answer.outcome = outcome;
  answer.status = Status::kFailed;
  return answer;
}

}  // namespace

GeneratorStage::GeneratorStage(CodeStore& store, TenantSettingsSource& tenants,
                               const GeneratorConfig& config, Rng& rng, const Clock& clock)
    : store_(store),
      tenants_(tenants),
      config_(config),
      clock_(clock),
      codes_(rng),
      sealer_(config.seal_keys, rng),
      topics_(messages::Topics::with_prefix(config.topic_prefix)) {}

namespace {

Result<messages::SendRequested> decode_send(std::string_view payload) {
  return messages::decode_send_requested(payload);
}
Result<messages::SendRequested> decode_send(nlohmann::json&& document) {
  return messages::decode_send_requested_document(std::move(document));
}
Result<messages::VerifyRequested> decode_verify(std::string_view payload) {
  return messages::decode_verify_requested(payload);
}
Result<messages::VerifyRequested> decode_verify(nlohmann::json&& document) {
  return messages::decode_verify_requested_document(std::move(document));
}

}  // namespace

template <class Value>
Result<GeneratorInput> GeneratorStage::decode_value(const kafka::Record& record,
                                                    Value&& value) const {
  auto route = reply_route(record);
  if (!route) return tl::unexpected(route.error());
  if (record.topic == topics_.send_requests) {
    auto request = decode_send(std::forward<Value>(value));
    if (!request) return tl::unexpected(request.error());
    auto headers = delivery_headers(record);
    if (!headers) return tl::unexpected(headers.error());
    return GeneratorInput{std::move(*request), std::move(*route), std::move(*headers)};
  }
  if (record.topic == topics_.verify_requests) {
    auto request = decode_verify(std::forward<Value>(value));
    if (!request) return tl::unexpected(request.error());
    return GeneratorInput{std::move(*request), std::move(*route), {}};
  }
  return fail(Errc::kInvalidInput, "generator: unexpected topic " + record.topic);
}

Result<GeneratorInput> GeneratorStage::decode(const kafka::Record& record) const {
  return decode_value(record, std::string_view(record.value));
}

Result<GeneratorInput> GeneratorStage::decode(const kafka::Record& record,
                                              nlohmann::json&& document) const {
  return decode_value(record, std::move(document));
}

Result<std::vector<kafka::OutboundRecord>> GeneratorStage::handle(const GeneratorInput& input) {
  return std::move(handle_batch(std::span<const GeneratorInput>(&input, 1)).front());
}

std::vector<Result<std::vector<kafka::OutboundRecord>>> GeneratorStage::handle_batch(
    std::span<const GeneratorInput> inputs) {
  std::vector<std::optional<Result<Outputs>>> results(inputs.size());
  std::vector<Draft> drafts;
  std::vector<std::size_t> owners;
  // The store steps gathered so far, as one batch; each draft is then finished in order.
  const auto flush = [&] {
    if (drafts.empty()) return;
    std::vector<BatchStep> steps;
    steps.reserve(drafts.size());
    for (auto& draft : drafts) steps.push_back(std::move(draft.step));
    auto answers = store_.run_batch(steps);
    for (std::size_t k = 0; k < drafts.size(); ++k) {
      results[owners[k]] = finish(drafts[k], std::move(answers[k]));
    }
    drafts.clear();
    owners.clear();
  };
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const auto& input = inputs[i];
    Result<Begun> begun = std::visit(
        [&](const auto& request) -> Result<Begun> {
          if constexpr (std::is_same_v<std::decay_t<decltype(request)>, messages::SendRequested>) {
            // Resend, cancel and status call the store themselves: after the batch so far.
            if (request.action != messages::SendAction::kSend) flush();
            return begin_send(request, input.reply_to, input.job_headers);
          } else {
            // By recipient, the current pointer is read first: after the sends so far.
            if (request.verification_id.empty()) flush();
            return begin_verify(request, input.reply_to);
          }
        },
        input.request);
    if (!begun) {
      results[i] = tl::unexpected(begun.error());
      if (begun.error().is_retryable()) {
        // The runner retries from here on one by one: no use starting the rest now.
        flush();
        for (std::size_t rest = i + 1; rest < inputs.size(); ++rest) {
          results[rest] = tl::unexpected(begun.error());
        }
        break;
      }
      continue;
    }
    if (auto* outputs = std::get_if<Outputs>(&*begun)) {
      results[i] = std::move(*outputs);
      continue;
    }
    drafts.push_back(std::get<Draft>(std::move(*begun)));
    owners.push_back(i);
  }
  flush();
  std::vector<Result<Outputs>> out;
  out.reserve(results.size());
  for (auto& result : results) out.push_back(std::move(*result));
  return out;
}

Result<GeneratorStage::Outputs> GeneratorStage::finish(Draft& draft, Result<BatchAnswer> answer) {
  if (!answer) return tl::unexpected(answer.error());
  if (auto* issued = std::get_if<IssuedCode>(&*answer)) return finish_send(draft, *issued);
  return finish_verify(draft, std::get<CheckedById>(*answer));
}

Result<GeneratorStage::Begun> GeneratorStage::begin_send(
    const messages::SendRequested& original, const std::optional<ReplyRoute>& reply_to,
    const std::vector<kafka::Header>& job_headers) {
  const crypto::Key& hmac_key = config_.hmac_keys.active();
  const std::string verification_id =
      original.verification_id.empty()
          ? derive_verification_id(hmac_key, original.tenant, original.request_id)
          : original.verification_id;
  const bool resending = original.action == messages::SendAction::kResend;
  Outputs outputs;
  auto answer = reply_skeleton(kind_of(original.action), original.request_id, original.tenant,
                               verification_id, Outcome::kInvalidRequest);
  answer.channel = original.channel;

  const auto refuse = [&](Outcome outcome, const char* reason, std::string message) {
    spdlog::warn("{}.rejected verification_id={} tenant={} channel={} reason={}",
                 resending ? "resend" : "send", verification_id, original.tenant,
                 messages::to_string(answer.channel.value_or(original.channel)), reason);
    answer.outcome = outcome;
    answer.message = std::move(message);
    reply(outputs, reply_to, std::move(answer));
    return outputs;
  };

  auto found = tenants_.find(original.tenant);
  if (!found) return tl::unexpected(found.error());
  if (!*found) return refuse(Outcome::kInvalidRequest, "unknown_tenant", "unknown tenant");
  const TenantSettings& settings = **found;
  if (original.action == messages::SendAction::kCancel) return handle_cancel(original, reply_to);
  if (original.action == messages::SendAction::kStatus) return handle_status(original, reply_to);

  // A resend acts on an existing verification, found by id. A request that names only the id
  // (the HTTP API's) gets the recipient and channel the verification was issued for.
  std::optional<CodeLocation> location;
  std::optional<messages::SendRequested> resolved;
  if (resending) {
    auto looked_up = store_.lookup(original.tenant, verification_id);
    if (!looked_up) return tl::unexpected(looked_up.error());
    if (!*looked_up) return refuse(Outcome::kNotFound, "not_found", "no such verification");
    location = std::move(**looked_up);
    if (original.recipient.empty()) {
      if (!location->sealed_recipient || !location->channel) {
        return refuse(Outcome::kInvalidRequest, "recipient_unknown",
                      "this verification can only be resent with its recipient");
      }
      auto recipient = sealer_.unseal(*location->sealed_recipient, recipient_aad(verification_id));
      if (!recipient) {
        // A seal key still protecting live verifications was dropped: park, do not guess.
        return fail(Errc::kInternal, "verification " + verification_id +
                                         ": the stored recipient does not open (" +
                                         recipient.error().message + ")");
      }
      resolved = original;
      resolved->recipient = std::move(*recipient);
      resolved->channel = *location->channel;
      answer.channel = *location->channel;
    }
  }
  const messages::SendRequested& request = resolved ? *resolved : original;

  if (!is_plausible_recipient(request.recipient, request.channel)) {
    return refuse(Outcome::kInvalidRequest, "bad_recipient",
                  "recipient is not valid for the channel");
  }
  if (!settings.allows(request.channel)) {
    return refuse(Outcome::kInvalidRequest, "channel_not_allowed",
                  "channel not allowed for this tenant");
  }
  const bool is_phone = request.channel != messages::Channel::kEmail;
  const PhoneFacts phone = is_phone ? phone_facts(request.recipient) : PhoneFacts{};
  const std::string* test_code = is_phone ? settings.test_code(request.recipient) : nullptr;
  // Test numbers never reach a provider, so where they are does not matter.
  if (is_phone && test_code == nullptr && !settings.allows_region(phone.country.value_or(""))) {
    return refuse(Outcome::kCountryBlocked, "country_blocked",
                  "codes cannot be sent to this country for this tenant");
  }

  if (resending) {
    return handle_resend(request, reply_to, settings, test_code, *location, job_headers);
  }

  const std::string recipient_hash =
      crypto::recipient_hash(hmac_key, request.tenant, request.recipient);
  answer.rate_limit_limit = settings.sends_per_destination;

  // The request's code_length and ttl_seconds (already bounded by the decoder: 4..10 digits,
  // 30..86400 s) override the tenant's defaults for this verification only. A test number
  // keeps its fixed code.
  const int wanted_length = request.code_length.value_or(settings.code_length);
  const std::chrono::milliseconds ttl =
      request.ttl_seconds ? std::chrono::seconds(*request.ttl_seconds) : settings.ttl;
  std::string code = test_code != nullptr ? *test_code : codes_.generate(wanted_length);
  const int code_length = static_cast<int>(code.size());
  IssueRequest issue{
      .tenant = request.tenant,
      .verification_id = verification_id,
      .request_id = request.request_id,
      .recipient_hash = recipient_hash,
      .code_hmac = crypto::code_hmac(hmac_key, request.tenant, verification_id, code),
      .hmac_key_id = hmac_key.id,
      .sealed_code = sealer_.seal(code, verification_id),
      .channel = request.channel,
      .code_length = code_length,
      .max_attempts = settings.max_attempts,
      .ttl = ttl,
      .retention = config_.retention,
      .sends_per_window = settings.sends_per_destination,
      .send_window = settings.send_window,
      .sealed_recipient = sealer_.seal(request.recipient, recipient_aad(verification_id)),
      // The tenant's token bucket, taken by the store together with the issue.
      .token = SendToken{.tenant = request.tenant,
                         .recipient_hash = recipient_hash,
                         .request_id = request.request_id,
                         .rate_per_second = settings.send_rate_per_second,
                         .burst = settings.send_burst}};
  cleanse(code);

  return Draft{.step = std::move(issue),
               .reply_to = reply_to,
               .answer = std::move(answer),
               .request = request,
               .job_headers = job_headers,
               .settings = std::move(**found),  // last use of `settings`
               .test_number = test_code != nullptr,
               .phone = phone,
               .recipient_hash = recipient_hash};
}

Result<GeneratorStage::Outputs> GeneratorStage::finish_send(Draft& draft,
                                                            const IssuedCode& stored) {
  const messages::SendRequested& request = draft.request;
  const TenantSettings& settings = *draft.settings;
  const PhoneFacts& phone = draft.phone;
  const std::string& recipient_hash = draft.recipient_hash;
  const std::optional<ReplyRoute>& reply_to = draft.reply_to;
  messages::Reply& answer = draft.answer;
  Outputs outputs;
  const auto refuse = [&](Outcome outcome, const char* reason, std::string message) {
    spdlog::warn("send.rejected verification_id={} tenant={} channel={} reason={}",
                 answer.verification_id, request.tenant, messages::to_string(request.channel),
                 reason);
    answer.outcome = outcome;
    answer.message = std::move(message);
    reply(outputs, reply_to, std::move(answer));
    return outputs;
  };
  const auto limited = [&](Outcome outcome, const char* reason, std::chrono::milliseconds wait) {
    answer.retry_after_seconds = retry_after_seconds(wait);
    return refuse(outcome, reason,
                  outcome == Outcome::kRateLimited
                      ? "too many codes requested; try again later"
                      : "too many failed checks for this recipient; try again later");
  };
  if (stored.outcome == IssueOutcome::kTenantLimited) {
    answer.rate_limit_limit.reset();  // not the per-recipient window's refusal
    return limited(Outcome::kRateLimited, "tenant_send_rate", stored.retry_after);
  }
  if (stored.outcome == IssueOutcome::kConflict) {
    return refuse(Outcome::kInvalidRequest, "verification_id_in_use",
                  "verification id or request id already used for another request");
  }
  if (stored.outcome == IssueOutcome::kRateLimited) {
    answer.rate_limit_remaining = 0;
    answer.rate_limit_reset_seconds = retry_after_seconds(stored.retry_after);
    return limited(Outcome::kRateLimited, "sends_per_destination", stored.retry_after);
  }
  if (stored.outcome == IssueOutcome::kLocked) {
    return limited(Outcome::kRecipientLocked, "recipient_locked", stored.retry_after);
  }
  if (stored.outcome == IssueOutcome::kGone) {
    answer.status = Status::kExpired;
    return refuse(Outcome::kExpired, "verification_gone",
                  "this request's verification no longer exists");
  }

  const bool replayed = stored.outcome == IssueOutcome::kReplayed;
  // A replay finds the verification as it is now; once it is settled the code is dead and a
  // second delivery would only cost money.
  // A test number's code is never handed to a provider (delivery.skipped below).
  if (!draft.test_number && (!replayed || stored.status == Status::kPending)) {
    messages::DeliveryJob job{.job_id = stored.verification_id + ":1",
                              .tenant = request.tenant,
                              .verification_id = stored.verification_id,
                              .channel = stored.channel,
                              .recipient = request.recipient,
                              .sealed_code = stored.sealed_code,
                              .code_length = stored.code_length,
                              .locale = request.locale,
                              .expires_at = stored.expires_at,
                              .deadline = stored.expires_at - config_.delivery_margin,
                              .attempt = 0,
                              .sender = request.sender,
                              .template_name = request.template_name,
                              .app_hash = request.app_hash,
                              .fallback_channels = fallback_channels(settings, stored.channel)};
    outputs.push_back(kafka::OutboundRecord{.topic = topics_.delivery(stored.channel),
                                            .key = stored.verification_id,
                                            .value = messages::encode(job),
                                            .headers = draft.job_headers,
                                            .partition = std::nullopt});
  }
  const std::string masked = log::mask_recipient(request.recipient);
  json created{{"channel", messages::to_string(stored.channel)},
               {"recipient_masked", masked},
               {"recipient_hash", recipient_hash},
               {"country", phone.country ? json(*phone.country) : json(nullptr)},
               {"number_prefix", phone.number_prefix ? json(*phone.number_prefix) : json(nullptr)},
               {"code_length", stored.code_length},
               {"expires_at", format_rfc3339(stored.expires_at)},
               {"max_attempts", stored.max_attempts}};
  // The caller's audit data: kept with the event only (never in the job, never logged).
  if (!request.purpose.empty()) created["purpose"] = request.purpose;
  if (request.metadata.is_object()) created["metadata"] = request.metadata;
  outputs.push_back(event("verification.created", request.tenant, stored.verification_id,
                          request.request_id, stored.created_at, std::move(created)));
  if (draft.test_number) {
    // A replay re-emits the same event (same id): the audit trail keeps one copy.
    outputs.push_back(
        event("delivery.skipped", request.tenant, stored.verification_id, request.request_id,
              stored.created_at,
              {{"channel", messages::to_string(stored.channel)}, {"reason", "test_number"}}));
  }
  answer.verification_id = stored.verification_id;
  if (stored.window) {
    answer.rate_limit_remaining = std::max(0, settings.sends_per_destination - stored.window->used);
    answer.rate_limit_reset_seconds = retry_after_seconds(stored.window->reset);
  }
  if (stored.failures_at_issue) {
    answer.failures_remaining =
        std::max(0, settings.failure_lock_threshold - *stored.failures_at_issue);
  }
  answer.outcome = Outcome::kPending;
  answer.status = Status::kPending;
  answer.attempts_remaining = stored.max_attempts;
  answer.expires_at = stored.expires_at;
  answer.channel = stored.channel;
  answer.code_length = stored.code_length;
  reply(outputs, reply_to, std::move(answer));

  spdlog::info("{} verification_id={} tenant={} channel={} recipient={}",
               replayed ? "send.replayed" : "send.issued", stored.verification_id, request.tenant,
               messages::to_string(stored.channel), masked);
  return outputs;
}

Result<GeneratorStage::Outputs> GeneratorStage::handle_resend(
    const messages::SendRequested& request, const std::optional<ReplyRoute>& reply_to,
    const TenantSettings& settings, const std::string* test_code, const CodeLocation& location,
    const std::vector<kafka::Header>& job_headers) {
  const std::string& verification_id = request.verification_id;
  Outputs outputs;
  auto answer = reply_skeleton(RequestKind::kResend, request.request_id, request.tenant,
                               verification_id, Outcome::kNotFound);
  answer.channel = request.channel;
  const auto refuse = [&](Outcome outcome, const char* reason, std::string message) {
    spdlog::warn("resend.rejected verification_id={} tenant={} channel={} reason={}",
                 verification_id, request.tenant, messages::to_string(request.channel), reason);
    answer.outcome = outcome;
    answer.message = std::move(message);
    reply(outputs, reply_to, std::move(answer));
    return outputs;
  };
  const auto limited = [&](const char* reason, std::chrono::milliseconds wait) {
    answer.retry_after_seconds = retry_after_seconds(wait);
    return refuse(Outcome::kRateLimited, reason, "too many codes requested; try again later");
  };

  // The verification's own hmac key (it may predate a rotation) locates it and protects the new
  // code, so a check computes the candidate with the key the index names.
  const crypto::Key* key = config_.hmac_keys.find(location.hmac_key_id);
  if (key == nullptr) {
    return fail(Errc::kInternal, "verification " + verification_id + " needs hmac key '" +
                                     location.hmac_key_id + "', which is not in OTP_HMAC_KEYS");
  }
  const std::string recipient_hash =
      crypto::recipient_hash(*key, request.tenant, request.recipient);
  auto token = store_.take_send_token({.tenant = request.tenant,
                                       .recipient_hash = recipient_hash,
                                       .request_id = request.request_id,
                                       .rate_per_second = settings.send_rate_per_second,
                                       .burst = settings.send_burst});
  if (!token) return tl::unexpected(token.error());
  if (*token) return limited("tenant_send_rate", **token);
  answer.rate_limit_limit = settings.sends_per_destination;

  const bool new_code = settings.resend_policy == ResendPolicy::kNew;
  ResendRequest resend{.tenant = request.tenant,
                       .verification_id = verification_id,
                       .request_id = request.request_id,
                       .recipient_hash = recipient_hash,
                       .handle = location.handle,
                       .new_code = new_code,
                       .code_hmac = {},
                       .sealed_code = {},
                       .ttl = settings.ttl,
                       .retention = config_.retention,
                       .cooldown = settings.resend_cooldown,
                       .sends_per_window = settings.sends_per_destination,
                       .send_window = settings.send_window};
  // A new code has the verification's length, which a send may have set apart from the tenant's:
  // the store refuses another length (kWrongLength, nothing changed) and we draw again.
  const auto draw = [&](int length) {
    std::string code = test_code != nullptr ? *test_code : codes_.generate(length);
    resend.code_length = test_code != nullptr ? 0 : length;  // a test number's fixed code stays
    resend.code_hmac = crypto::code_hmac(*key, request.tenant, verification_id, code);
    resend.sealed_code = sealer_.seal(code, verification_id);
    cleanse(code);
  };
  if (new_code) draw(settings.code_length);
  auto resent = store_.resend(resend);
  if (resent && resent->outcome == ResendOutcome::kWrongLength && new_code) {
    draw(resent->code_length);
    resent = store_.resend(resend);
  }
  if (!resent) return tl::unexpected(resent.error());
  switch (resent->outcome) {
    case ResendOutcome::kNotFound:
      return refuse(Outcome::kNotFound, "not_found", "no such verification");
    case ResendOutcome::kNotPending:
      answer.status = resent->status;
      return refuse(settled_outcome(resent->status), "not_pending",
                    "the verification is no longer pending");
    case ResendOutcome::kCooldown:
      return limited("resend_cooldown", resent->retry_after);
    case ResendOutcome::kWrongLength:
      return fail(Errc::kInternal,
                  "verification " + verification_id + " refused a new code of its own length");
    case ResendOutcome::kRateLimited:
      answer.rate_limit_remaining = 0;
      answer.rate_limit_reset_seconds = retry_after_seconds(resent->retry_after);
      return limited("sends_per_destination", resent->retry_after);
    case ResendOutcome::kResent:
    case ResendOutcome::kReplayed:
      break;
  }

  const ResentCode& stored = *resent;
  const std::string job_id = verification_id + ":" + std::to_string(stored.send_number);
  if (test_code == nullptr) {
    messages::DeliveryJob job{.job_id = job_id,
                              .tenant = request.tenant,
                              .verification_id = verification_id,
                              .channel = stored.channel,
                              .recipient = request.recipient,
                              .sealed_code = stored.sealed_code,
                              .code_length = stored.code_length,
                              .locale = request.locale,
                              .expires_at = stored.expires_at,
                              .deadline = stored.expires_at - config_.delivery_margin,
                              .attempt = 0,
                              .sender = request.sender,
                              .template_name = request.template_name,
                              .app_hash = request.app_hash,
                              .fallback_channels = fallback_channels(settings, stored.channel)};
    outputs.push_back(kafka::OutboundRecord{.topic = topics_.delivery(stored.channel),
                                            .key = verification_id,
                                            .value = messages::encode(job),
                                            .headers = job_headers,
                                            .partition = std::nullopt});
  }
  outputs.push_back(event("verification.resent", request.tenant, verification_id,
                          request.request_id, stored.sent_at,
                          {{"job_id", job_id},
                           {"policy", new_code ? "new" : "same"},
                           {"expires_at", format_rfc3339(stored.expires_at)}}));
  if (test_code != nullptr) {
    outputs.push_back(event(
        "delivery.skipped", request.tenant, verification_id, request.request_id, stored.sent_at,
        {{"channel", messages::to_string(stored.channel)}, {"reason", "test_number"}}));
  }
  if (stored.window) {
    answer.rate_limit_remaining = std::max(0, settings.sends_per_destination - stored.window->used);
    answer.rate_limit_reset_seconds = retry_after_seconds(stored.window->reset);
  }
  answer.outcome = Outcome::kPending;
  answer.status = Status::kPending;
  answer.attempts_remaining = stored.attempts_remaining;
  answer.expires_at = stored.expires_at;
  answer.channel = stored.channel;
  answer.code_length = stored.code_length;
  reply(outputs, reply_to, std::move(answer));
  spdlog::info("{} verification_id={} tenant={} channel={} recipient={} send={}",
               stored.outcome == ResendOutcome::kReplayed ? "resend.replayed" : "resend.sent",
               verification_id, request.tenant, messages::to_string(stored.channel),
               log::mask_recipient(request.recipient), stored.send_number);
  return outputs;
}

Result<std::optional<GeneratorStage::Located>> GeneratorStage::locate(
    const messages::SendRequested& request) {
  auto location = store_.lookup(request.tenant, request.verification_id);
  if (!location) return tl::unexpected(location.error());
  if (!*location) return std::nullopt;
  Located located{.location = std::move(**location)};
  // With a recipient, the store checks it is the verification's (another's answers not_found);
  // without, the index's location is the verification.
  if (!request.recipient.empty()) {
    const crypto::Key* key = config_.hmac_keys.find(located.location.hmac_key_id);
    if (key == nullptr) {
      // An operator dropped a key that still protects live codes: park, do not guess.
      return fail(Errc::kInternal, "verification " + request.verification_id + " needs hmac key '" +
                                       located.location.hmac_key_id +
                                       "', which is not in OTP_HMAC_KEYS");
    }
    located.recipient_hash = crypto::recipient_hash(*key, request.tenant, request.recipient);
  }
  return located;
}

Result<GeneratorStage::Outputs> GeneratorStage::handle_cancel(
    const messages::SendRequested& request, const std::optional<ReplyRoute>& reply_to) {
  const std::string& verification_id = request.verification_id;
  Outputs outputs;
  auto answer = reply_skeleton(RequestKind::kCancel, request.request_id, request.tenant,
                               verification_id, Outcome::kNotFound);
  const auto finish = [&](Outcome outcome, std::string message) {
    answer.outcome = outcome;
    answer.message = std::move(message);
    spdlog::info("cancel.answered verification_id={} tenant={} outcome={}", verification_id,
                 request.tenant, messages::to_string(outcome));
    reply(outputs, reply_to, std::move(answer));
    return outputs;
  };

  auto located = locate(request);
  if (!located) return tl::unexpected(located.error());
  if (!*located) return finish(Outcome::kNotFound, "no such verification");
  auto canceled = store_.cancel({.tenant = request.tenant,
                                 .verification_id = verification_id,
                                 .request_id = request.request_id,
                                 .recipient_hash = (*located)->recipient_hash,
                                 .handle = (*located)->location.handle});
  if (!canceled) return tl::unexpected(canceled.error());
  if (canceled->outcome == CancelOutcome::kNotFound) {
    return finish(Outcome::kNotFound, "no such verification");
  }
  if (canceled->outcome == CancelOutcome::kCanceled) {
    outputs.push_back(event("verification.canceled", request.tenant, verification_id,
                            request.request_id, canceled->at, json::object()));
  }
  answer.status = canceled->status;
  // `ok`: this request (or its replay) canceled it; otherwise the settled outcome says why not.
  if (canceled->outcome == CancelOutcome::kCanceled) return finish(Outcome::kOk, "");
  return finish(settled_outcome(canceled->status), "the verification was not pending");
}

Result<GeneratorStage::Outputs> GeneratorStage::handle_status(
    const messages::SendRequested& request, const std::optional<ReplyRoute>& reply_to) {
  const std::string& verification_id = request.verification_id;
  Outputs outputs;
  auto answer = reply_skeleton(RequestKind::kStatus, request.request_id, request.tenant,
                               verification_id, Outcome::kNotFound);
  const auto finish = [&](Outcome outcome, std::string message) {
    answer.outcome = outcome;
    answer.message = std::move(message);
    spdlog::debug("status.answered verification_id={} tenant={} outcome={}", verification_id,
                  request.tenant, messages::to_string(outcome));
    reply(outputs, reply_to, std::move(answer));
    return outputs;
  };

  auto located = locate(request);
  if (!located) return tl::unexpected(located.error());
  if (!*located) return finish(Outcome::kNotFound, "no such verification");
  auto state = store_.status({.tenant = request.tenant,
                              .verification_id = verification_id,
                              .recipient_hash = (*located)->recipient_hash,
                              .handle = (*located)->location.handle});
  if (!state) return tl::unexpected(state.error());
  if (!state->found) return finish(Outcome::kNotFound, "no such verification");
  answer.status = state->status;
  answer.attempts_remaining = state->attempts_remaining;
  answer.expires_at = state->expires_at;
  answer.channel = state->channel;
  return finish(Outcome::kOk, "");
}

Result<GeneratorStage::Begun> GeneratorStage::begin_verify(
    const messages::VerifyRequested& request, const std::optional<ReplyRoute>& reply_to) {
  Outputs outputs;
  // By id, or (seed 002) by recipient: then the recipient's current verification, found below.
  std::string verification_id = request.verification_id;
  auto answer = reply_skeleton(RequestKind::kVerify, request.request_id, request.tenant,
                               verification_id, Outcome::kNotFound);
  const auto finish = [&](Outcome outcome, std::string message) {
    answer.outcome = outcome;
    answer.message = std::move(message);
    answer.verification_id = verification_id;
    spdlog::info("verify.checked verification_id={} tenant={} outcome={}", verification_id,
                 request.tenant, messages::to_string(outcome));
    reply(outputs, reply_to, std::move(answer));
    return outputs;
  };

  // Held up (e.g. by a Redis outage) past the caller's patience: the caller already answered
  // 503 and the user will retry, so this one must neither use an attempt nor approve anybody.
  auto respond_by = request.requested_at + config_.verify_max_age;
  if (request.respond_by) respond_by = std::min(respond_by, *request.respond_by);
  if (clock_.now() > respond_by) {
    return finish(Outcome::kUnavailable, "request too old; try again");
  }

  std::string code;
  if (request.sealed_code) {
    // Sealed for the verification id, or for the recipient when that is all the request names.
    auto opened = sealer_.unseal(*request.sealed_code,
                                 verification_id.empty() ? request.recipient : verification_id);
    if (!opened) {
      spdlog::warn("verify.unseal_failed verification_id={} tenant={} error=\"{}\"",
                   verification_id, request.tenant, opened.error().message);
      return finish(Outcome::kInvalidRequest, "the sealed code could not be opened");
    }
    code = std::move(*opened);
  } else {
    code = request.otp_code.value_or("");
  }

  // The failure threshold is the tenant's. An unknown tenant has no verifications: the same
  // answer as an unknown id, without touching the store.
  auto found = tenants_.find(request.tenant);
  if (!found || !*found) {
    cleanse(code);
    if (!found) return tl::unexpected(found.error());
    return finish(Outcome::kNotFound, "no such verification");
  }
  if (verification_id.empty()) {
    // The pointer is kept under the recipient hash of the active key at issue time: after a
    // key rotation, verifications issued before it are found by id only.
    auto current = store_.current(
        request.tenant,
        crypto::recipient_hash(config_.hmac_keys.active(), request.tenant, request.recipient));
    if (!current) {
      cleanse(code);
      return tl::unexpected(current.error());
    }
    if (!*current) {
      cleanse(code);
      return finish(Outcome::kNotFound, "no such verification");
    }
    verification_id = std::move(**current);
  }
  // The candidate under every key of the ring: the verification's key (found by the store
  // with the verification) picks one. Usually the ring has one key.
  std::vector<std::pair<std::string, std::string>> candidates;
  for (const auto& key : config_.hmac_keys.keys()) {
    candidates.emplace_back(key.id, crypto::code_hmac(key, request.tenant, verification_id, code));
  }
  cleanse(code);
  // A tenant's fixed lock (failure_lock_seconds) is a lock that never grows.
  const auto& fixed_lock = (*found)->failure_lock_duration;
  answer.verification_id = verification_id;
  return Draft{.step =
                   CheckByIdRequest{
                       .tenant = request.tenant,
                       .verification_id = verification_id,
                       .candidates = std::move(candidates),
                       .check = {.request_id = request.request_id,
                                 .failure_lock_threshold = (*found)->failure_lock_threshold,
                                 .lock_base = fixed_lock ? std::chrono::milliseconds(*fixed_lock)
                                                         : kLockBase,
                                 .lock_max = fixed_lock ? std::chrono::milliseconds(*fixed_lock)
                                                        : kLockMax}},
               .reply_to = reply_to,
               .answer = std::move(answer),
               .failure_lock_threshold = (*found)->failure_lock_threshold};
}

Result<GeneratorStage::Outputs> GeneratorStage::finish_verify(Draft& draft,
                                                              const CheckedById& checked) {
  Outputs outputs;
  messages::Reply& answer = draft.answer;
  const std::string verification_id = answer.verification_id;
  const std::string tenant = answer.tenant;
  const std::string request_id = answer.request_id;
  const auto finish = [&](Outcome outcome, std::string message) {
    answer.outcome = outcome;
    answer.message = std::move(message);
    spdlog::info("verify.checked verification_id={} tenant={} outcome={}", verification_id, tenant,
                 messages::to_string(outcome));
    reply(outputs, draft.reply_to, std::move(answer));
    return outputs;
  };
  if (!checked.location) return finish(Outcome::kNotFound, "no such verification");
  const CheckResult& result = checked.result;
  if (result.outcome == Outcome::kNotFound)
    return finish(Outcome::kNotFound, "no such verification");
  if (result.lock_started.count() > 0) {
    // This failure started a lock: say so now, not only on the next request.
    answer.failures_remaining = 0;
    answer.retry_after_seconds = retry_after_seconds(result.lock_started);
  } else if (result.failures) {
    answer.failures_remaining = std::max(0, draft.failure_lock_threshold - *result.failures);
  }
  if (result.outcome == Outcome::kRecipientLocked) {
    answer.failures_remaining = 0;
    answer.status = result.status;
    answer.retry_after_seconds = retry_after_seconds(result.retry_after);
    return finish(Outcome::kRecipientLocked,
                  "too many failed checks for this recipient; try again later");
  }

  const json data = {{"attempts_remaining", result.attempts_remaining}};
  const auto emit = [&](const char* type) {
    outputs.push_back(event(type, tenant, verification_id, request_id, result.checked_at, data));
  };
  if (result.attempt_counted && result.outcome != Outcome::kApproved) {
    emit("verification.check_failed");
  }
  if (result.status_changed) {
    switch (result.status) {
      case Status::kApproved:
        emit("verification.approved");
        break;
      case Status::kMaxAttemptsReached:
        emit("verification.max_attempts_reached");
        break;
      case Status::kExpired:
        emit("verification.expired");
        break;
      case Status::kPending:
      case Status::kCanceled:
      case Status::kFailed:
        break;
    }
  }
  answer.status = result.status;
  answer.attempts_remaining = result.attempts_remaining;
  answer.expires_at = result.expires_at;
  return finish(result.outcome, "");
}

kafka::OutboundRecord GeneratorStage::event(const std::string& type, const std::string& tenant,
                                            const std::string& verification_id,
                                            const std::string& request_id, TimePoint time,
                                            nlohmann::json data) const {
  messages::Event message{.id = event_id(tenant, verification_id, request_id, type),
                          .type = type,
                          .source = kSource,
                          .time = time,
                          .tenant = tenant,
                          .verification_id = verification_id,
                          .data = std::move(data)};
  return kafka::OutboundRecord{.topic = topics_.events,
                               .key = verification_id,
                               .value = messages::encode(message),
                               .headers = {},
                               .partition = std::nullopt};
}

void GeneratorStage::reply(Outputs& outputs, const std::optional<ReplyRoute>& reply_to,
                           messages::Reply message) const {
  if (!reply_to) return;
  message.correlation_id = reply_to->correlation_id;
  outputs.push_back(kafka::OutboundRecord{.topic = topics_.replies,
                                          .key = reply_to->correlation_id,
                                          .value = messages::encode(message),
                                          .headers = {},
                                          .partition = reply_to->partition});
}

}  // namespace otp::generator
