#include "services/intake/compat/seed002_handler.h"

#include "services/intake/api_response.h"
#include "services/intake/compat/verify_by_recipient.h"
#include "services/intake/json_body.h"
#include "services/intake/recipient_validator.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace otp::intake::compat {
namespace {

using messages::Outcome;

constexpr std::size_t kMaxPhoneLength = 32;
constexpr std::size_t kMaxCodeLength = 10;
constexpr std::size_t kMinCodeLength = 4;
// The seed's documented otp-lock-timeout, for a lock whose length the reply does not carry.
constexpr int kDefaultLockMinutes = 30;

// The seed wants E.164 as given: "+14155552671", not a number we would have to reformat.
std::optional<std::string> e164_phone(const nlohmann::json& object, const char* field) {
  auto it = object.find(field);
  if (it == object.end() || !it->is_string()) return std::nullopt;
  const auto& text = it->get_ref<const std::string&>();
  if (text.empty() || text.size() > kMaxPhoneLength) return std::nullopt;
  auto normalized = normalize_phone_number(text);
  if (!normalized || *normalized != text) return std::nullopt;
  return text;
}

HttpResponse lockout(const messages::Reply& reply) {
  int minutes = kDefaultLockMinutes;
  if (reply.retry_after_seconds && *reply.retry_after_seconds > 0) {
    minutes = (*reply.retry_after_seconds + 59) / 60;  // rounded up, as the seed documents
  }
  const nlohmann::ordered_json data = {{"lockout_duration", minutes}};
  return seed002_response(403, "User locked out due to exceeding maximum attempts.", &data);
}

// Seed 002 counts trials per user across sends: the subject's failures left before a lock
// (attempts_remaining of the verification for replies that do not carry it).
int trials_left(const messages::Reply& reply) {
  return reply.failures_remaining.value_or(reply.attempts_remaining.value_or(0));
}

void log_unanswered(const char* route, const Error& error) {
  spdlog::warn("compat.no_reply route={} reason=\"{}\"", route, error.message);
}

}  // namespace

HttpResponse seed002_response(int status, const std::string& message,
                              const nlohmann::ordered_json* data) {
  nlohmann::ordered_json body = {{"code", status}, {"message", message}};
  if (data != nullptr) body["data"] = *data;
  return json_response(status, body);
}

HttpResponse seed002_invalid_body() { return seed002_response(400, "Invalid request body"); }

HttpResponse seed002_internal_error() {
  return seed002_response(500, "Internal server error occurred.");
}

HttpResponse seed002_send_response(const ReplyResult& result) {
  if (!result) {
    log_unanswered("/api/send-otp", result.error());
    return seed002_internal_error();
  }
  switch (result->outcome) {
    case Outcome::kPending: {
      const nlohmann::ordered_json data = trials_left(*result);
      return seed002_response(200, "OTP send successfully.", &data);
    }
    case Outcome::kRecipientLocked:
    case Outcome::kRateLimited:
      return lockout(*result);
    case Outcome::kInvalidRequest:
    case Outcome::kCountryBlocked:
      return seed002_invalid_body();
    default:
      spdlog::warn("compat.unexpected_outcome route=/api/send-otp outcome={}",
                   messages::to_string(result->outcome));
      return seed002_internal_error();
  }
}

HttpResponse seed002_verify_response(const ReplyResult& result) {
  if (!result) {
    log_unanswered("/api/verify-otp", result.error());
    return seed002_internal_error();
  }
  // The failed check that used the last trial started a lock: answer the lockout now.
  if (result->outcome != Outcome::kApproved && result->failures_remaining == 0) {
    return lockout(*result);
  }
  switch (result->outcome) {
    case Outcome::kApproved: {
      const nlohmann::ordered_json data = nlohmann::ordered_json::object();
      return seed002_response(200, "OTP verified successfully.", &data);
    }
    case Outcome::kInvalidCode:
    case Outcome::kExpired:
    case Outcome::kAlreadyVerified:
    case Outcome::kCanceled:
    case Outcome::kNotFound: {
      const nlohmann::ordered_json data = trials_left(*result);
      return seed002_response(401, "Incorrect OTP/ OTP Expired", &data);
    }
    case Outcome::kMaxAttemptsReached:
    case Outcome::kRecipientLocked:
      return lockout(*result);
    case Outcome::kInvalidRequest:
      return seed002_invalid_body();
    default:
      spdlog::warn("compat.unexpected_outcome route=/api/verify-otp outcome={}",
                   messages::to_string(result->outcome));
      return seed002_internal_error();
  }
}

Seed002Handler::Seed002Handler(RequestPublisher& publisher, const crypto::Sealer& sealer, Rng& rng,
                               const Clock& clock, const messages::Topics& topics,
                               std::string tenant, std::chrono::milliseconds reply_timeout)
    : publisher_(publisher),
      sealer_(sealer),
      rng_(rng),
      clock_(clock),
      topics_(topics),
      tenant_(std::move(tenant)),
      reply_timeout_(reply_timeout) {}

void Seed002Handler::send(const std::string& body, ResponseCallback respond) {
  auto object = parse_json_object(body);
  if (!object) return respond(seed002_invalid_body());
  auto phone = e164_phone(*object, "phoneNumber");
  if (!phone) return respond(seed002_invalid_body());

  messages::SendRequested message;
  message.request_id = new_uuid(rng_);
  message.tenant = tenant_;
  message.verification_id = new_verification_id(rng_);
  message.recipient = *phone;
  message.channel = messages::Channel::kSms;
  message.requested_at = clock_.now();
  kafka::OutboundRecord record{.topic = topics_.send_requests,
                               .key = tenant_ + ":" + message.recipient,
                               .value = messages::encode(message),
                               .headers = {},
                               .partition = std::nullopt};
  publisher_.publish(std::move(record), [respond = std::move(respond)](const ReplyResult& result) {
    respond(seed002_send_response(result));
  });
}

void Seed002Handler::verify(const std::string& body, ResponseCallback respond) {
  auto object = parse_json_object(body);
  if (!object) return respond(seed002_invalid_body());
  auto user = object->find("user");
  if (user == object->end() || !user->is_object()) return respond(seed002_invalid_body());
  auto phone = e164_phone(*user, "phoneNumber");
  if (!phone) return respond(seed002_invalid_body());
  auto code = object->find("code");
  if (code == object->end() || !code->is_string()) return respond(seed002_invalid_body());
  const auto& digits = code->get_ref<const std::string&>();
  const bool well_formed =
      digits.size() >= kMinCodeLength && digits.size() <= kMaxCodeLength &&
      std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!well_formed) return respond(seed002_invalid_body());

  publisher_.publish(verify_by_recipient_record(topics_, sealer_, rng_, clock_, tenant_, *phone,
                                                digits, reply_timeout_),
                     [respond = std::move(respond)](const ReplyResult& result) {
                       respond(seed002_verify_response(result));
                     });
}

}  // namespace otp::intake::compat
