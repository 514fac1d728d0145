#include "services/intake/compat/seed000_handler.h"

#include "services/intake/api_response.h"
#include "services/intake/compat/verify_by_recipient.h"
#include "services/intake/json_body.h"
#include "services/intake/recipient_validator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <mutex>

namespace otp::intake::compat {
namespace {

using messages::Outcome;

constexpr std::size_t kMaxMobileLength = 32;
constexpr std::size_t kMaxCodeLength = 10;
constexpr std::size_t kMinCodeLength = 4;

std::optional<std::string> required_field(const nlohmann::json& object, const char* name,
                                          std::size_t max_length) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return std::nullopt;
  const auto& text = it->get_ref<const std::string&>();
  if (text.empty() || text.size() > max_length) return std::nullopt;
  return text;
}

HttpResponse email_failed(const std::string& reason) {
  return seed000_failure(500, "Failed to send email: " + reason);
}

HttpResponse too_many_attempts(const messages::Reply& reply) {
  HttpResponse response = seed000_failure(429, "Too many attempts");
  if (reply.retry_after_seconds && *reply.retry_after_seconds > 0) {
    response.headers.emplace_back("Retry-After", std::to_string(*reply.retry_after_seconds));
  }
  return response;
}

HttpResponse directory_failure(const DirectoryResult& found) {
  if (!found) return email_failed("service temporarily unavailable");
  return seed000_failure(404, "Mobile number not registered");
}

/// One `/send-otp` in flight: whichever of the generator's refusal, the delivery outcome or a
/// deadline comes first answers; the others find it answered.
struct SendExchange {
  std::mutex mutex;
  bool answered = false;
  ResponseCallback respond;

  void answer(HttpResponse response) {
    {
      std::lock_guard lock(mutex);
      if (answered) return;
      answered = true;
    }
    respond(std::move(response));
  }
};

}  // namespace

std::string mask_email(const std::string& email) {
  const auto at = email.rfind('@');
  if (at == std::string::npos || at == 0) return "******";
  std::string masked(1, email.front());
  masked += "******";
  if (at > 2) masked += email[at - 1];
  return masked + email.substr(at);
}

HttpResponse seed000_failure(int status, const std::string& message) {
  return json_response(status, {{"success", false}, {"message", message}});
}

Seed000Handler::Seed000Handler(RequestPublisher& publisher, DeliveryWaits& deliveries,
                               Directory& directory, const crypto::Sealer& sealer, Rng& rng,
                               const Clock& clock, const messages::Topics& topics,
                               Settings settings)
    : publisher_(publisher),
      deliveries_(deliveries),
      directory_(directory),
      sealer_(sealer),
      rng_(rng),
      clock_(clock),
      topics_(topics),
      settings_(std::move(settings)) {}

void Seed000Handler::send(const std::string& body, ResponseCallback respond) {
  auto object = parse_json_object(body);
  if (!object) return respond(seed000_failure(400, "Invalid JSON body"));
  auto mobile = required_field(*object, "mobile", kMaxMobileLength);
  if (!mobile) return respond(seed000_failure(400, "Mobile number is required"));
  directory_.find(
      settings_.tenant, *mobile,
      [this, mobile = *mobile, respond = std::move(respond)](const DirectoryResult& found) mutable {
        if (!found || !*found) return respond(directory_failure(found));
        publish_send(mobile, **found, std::move(respond));
      });
}

void Seed000Handler::publish_send(const std::string& mobile, const DirectoryEntry& entry,
                                  ResponseCallback respond) {
  auto email = normalize_email(entry.email);
  if (!email) {
    spdlog::warn("compat.directory_bad_email tenant={}", settings_.tenant);
    return respond(email_failed("the address on file is not valid"));
  }
  messages::SendRequested message;
  message.request_id = new_uuid(rng_);
  message.tenant = settings_.tenant;
  message.verification_id = new_verification_id(rng_);
  message.recipient = *email;
  message.channel = messages::Channel::kEmail;
  message.requested_at = clock_.now();
  const std::string delivery_id = new_uuid(rng_);
  kafka::OutboundRecord record{.topic = topics_.send_requests,
                               .key = settings_.tenant + ":" + message.recipient,
                               .value = messages::encode(message),
                               .headers = {{kHeaderDeliveryCorrelationId, delivery_id}},
                               .partition = std::nullopt};

  auto exchange = std::make_shared<SendExchange>();
  exchange->respond = std::move(respond);
  const nlohmann::ordered_json sent = {
      {"success", true},
      {"email", entry.reveal_contacts ? *email : mask_email(*email)},
      {"mobile", mobile},
      {"message", "OTP sent"},
      {"verification_id", message.verification_id}};
  // Registered before publishing: the delivery reply may overtake the generator's.
  deliveries_.expect(
      delivery_id, settings_.delivery_timeout, [exchange, sent](const ReplyResult& result) {
        if (!result) {
          if (result.error().code == Errc::kTimeout) {
            exchange->answer(email_failed("no delivery confirmation in time"));
          }
          return;  // forgotten: the generator's answer was sent already
        }
        if (result->outcome == Outcome::kDelivered) {
          exchange->answer(json_response(200, sent));
        } else {
          exchange->answer(email_failed(result->message.empty() ? std::string("delivery failed")
                                                                : result->message));
        }
      });
  DeliveryWaits& deliveries = deliveries_;
  publisher_.publish(
      std::move(record), [exchange, delivery_id, &deliveries](const ReplyResult& result) {
        if (!result) {
          // Published but unanswered: the delivery outcome may still come, and it decides.
          if (result.error().code == Errc::kTimeout) return;
          exchange->answer(email_failed("service temporarily unavailable"));
        } else if (result->outcome == Outcome::kPending) {
          return;  // issued: the delivery outcome decides
        } else if (result->outcome == Outcome::kRateLimited ||
                   result->outcome == Outcome::kRecipientLocked) {
          exchange->answer(too_many_attempts(*result));
        } else {
          exchange->answer(email_failed(result->message.empty()
                                            ? std::string(messages::to_string(result->outcome))
                                            : result->message));
        }
        deliveries.forget(delivery_id);
      });
}

void Seed000Handler::verify(const std::string& body, ResponseCallback respond) {
  auto object = parse_json_object(body);
  if (!object) return respond(seed000_failure(400, "Invalid JSON body"));
  auto mobile = required_field(*object, "mobile", kMaxMobileLength);
  if (!mobile) return respond(seed000_failure(400, "Mobile number is required"));
  auto code = required_field(*object, "otp", kMaxCodeLength);
  const bool well_formed =
      code && code->size() >= kMinCodeLength &&
      std::all_of(code->begin(), code->end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!well_formed) return respond(seed000_failure(400, "OTP is required (4 to 10 digits)"));
  directory_.find(
      settings_.tenant, *mobile,
      [this, code = *code, respond = std::move(respond)](const DirectoryResult& found) mutable {
        if (!found || !*found) return respond(directory_failure(found));
        auto email = normalize_email((*found)->email);
        if (!email) return respond(seed000_failure(401, "Invalid or expired OTP"));
        publisher_.publish(
            verify_by_recipient_record(topics_, sealer_, rng_, clock_, settings_.tenant, *email,
                                       code, settings_.reply_timeout),
            [respond = std::move(respond)](const ReplyResult& result) {
              if (!result) {
                spdlog::warn("compat.no_reply route=/verify-otp reason=\"{}\"",
                             result.error().message);
                return respond(seed000_failure(500, "Internal server error"));
              }
              switch (result->outcome) {
                case Outcome::kApproved:
                  return respond(
                      json_response(200, {{"success", true}, {"message", "OTP verified"}}));
                case Outcome::kInvalidCode:
                case Outcome::kExpired:
                case Outcome::kAlreadyVerified:
                case Outcome::kCanceled:
                case Outcome::kNotFound:
                  return respond(seed000_failure(401, "Invalid or expired OTP"));
                case Outcome::kMaxAttemptsReached:
                case Outcome::kRecipientLocked:
                case Outcome::kRateLimited:
                  return respond(too_many_attempts(*result));
                default:
                  return respond(seed000_failure(500, "Internal server error"));
              }
            });
      });
}

}  // namespace otp::intake::compat
