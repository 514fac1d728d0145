#include "services/intake/handlers/reply_mapping.h"

#include "common/log/log.h"
#include "common/time/clock.h"
#include "services/intake/prefer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace otp::intake {
namespace {

using messages::Outcome;
using messages::Reply;
using messages::RequestKind;

ApiError make_error(int status, const char* code, const std::string& message,
                    const char* fallback) {
  return ApiError{.status = status,
                  .code = code,
                  .message = message.empty() ? std::string(fallback) : message,
                  .retry_after = std::nullopt};
}

// A reply answers by correlation id, which is a fresh UUID per request; a reply for another
// tenant or of the other kind can only be a bug somewhere, and must not leak into the answer.
bool belongs_to(const Reply& reply, RequestKind kind, const std::string& tenant) {
  if (reply.kind == kind && reply.tenant == tenant) return true;
  spdlog::error("intake.reply_mismatch correlation_id={} verification_id={}", reply.correlation_id,
                reply.verification_id);
  return false;
}

nlohmann::ordered_json failure_fields(const std::string& verification_id, const Reply& reply) {
  nlohmann::ordered_json extra = {{"verification_id", verification_id}};
  if (reply.attempts_remaining) extra["attempts_remaining"] = *reply.attempts_remaining;
  return extra;
}

// The generator's wait for a limit becomes `retry_after` and a Retry-After header.
ApiError reply_error(const Reply& reply) {
  ApiError error = outcome_error(reply.outcome, reply.message);
  const bool waits =
      reply.outcome == Outcome::kRateLimited || reply.outcome == Outcome::kRecipientLocked;
  if (waits && reply.retry_after_seconds) {
    error.retry_after = std::chrono::seconds(std::max(1, *reply.retry_after_seconds));
  } else if (waits && reply.rate_limit_reset_seconds) {
    error.retry_after = std::chrono::seconds(std::max(1, *reply.rate_limit_reset_seconds));
  }
  return error;
}

HttpResponse not_published(const std::string& verification_id) {
  return error_response(unavailable("the request could not be processed now; retry"),
                        {{"verification_id", verification_id}});
}

HttpResponse failure(const std::string& verification_id, const Reply& reply) {
  auto response = error_response(reply_error(reply), failure_fields(verification_id, reply));
  add_rate_limit_headers(response, reply);
  return response;
}

// Published, no answer (yet): the code is on its way.
HttpResponse send_accepted(const SendContext& context) {
  return json_text_response(202, JsonObjectText()
                                     .add("success", true)
                                     .add("verification_id", context.verification_id)
                                     .add("status", "pending")
                                     .add("channel", to_string(context.channel))
                                     .add("recipient", log::mask_recipient(context.recipient))
                                     .finish());
}

HttpResponse resend_accepted(const ActionContext& context) {
  return json_text_response(202, JsonObjectText()
                                     .add("success", true)
                                     .add("verification_id", context.verification_id)
                                     .add("status", "pending")
                                     .finish());
}

HttpResponse async_applied(HttpResponse response) {
  response.headers.emplace_back("Preference-Applied", std::string(kRespondAsync));
  return response;
}

// The fields of a live verification that a reply knows.
void add_state(nlohmann::ordered_json& body, const Reply& reply) {
  if (reply.channel) body["channel"] = to_string(*reply.channel);
  if (reply.expires_at) body["expires_at"] = format_rfc3339(*reply.expires_at);
  if (reply.attempts_remaining) body["attempts_remaining"] = *reply.attempts_remaining;
  if (reply.code_length) body["code_length"] = *reply.code_length;
}

}  // namespace

ApiError outcome_error(Outcome outcome, const std::string& message) {
  switch (outcome) {
    case Outcome::kInvalidCode:
      return make_error(400, "invalid_code", message, "the code is not correct");
    case Outcome::kExpired:
      return make_error(410, "expired", message, "the code has expired");
    case Outcome::kMaxAttemptsReached:
      return make_error(429, "max_attempts_reached", message, "no verification attempts left");
    case Outcome::kAlreadyVerified:
      return make_error(409, "already_verified", message, "the verification is already approved");
    case Outcome::kCanceled:
      return make_error(409, "canceled", message, "the verification was canceled");
    case Outcome::kNotFound:
      return make_error(404, "not_found", message, "no such verification");
    case Outcome::kRateLimited:
      return make_error(429, "rate_limited", message, "too many requests; try again later");
    case Outcome::kInvalidRequest:
      return make_error(400, "invalid_request", message, "the request cannot be processed");
    case Outcome::kRecipientLocked:
      return make_error(429, "recipient_locked", message,
                        "too many failed checks for this recipient; try again later");
    case Outcome::kCountryBlocked:
      return make_error(403, "country_blocked", message,
                        "codes cannot be sent to this country for this application");
    case Outcome::kUnavailable:
      return unavailable(message.empty() ? "temporarily unavailable; retry" : message);
    case Outcome::kDeliveryFailed:
      return make_error(502, "delivery_failed", message, "the message could not be delivered");
    case Outcome::kPending:
    case Outcome::kApproved:
    case Outcome::kDelivered:
    case Outcome::kOk:
      break;
  }
  return internal_error();
}

HttpResponse send_response(const SendContext& context, const ReplyResult& result) {
  if (!result) {
    if (result.error().code != Errc::kTimeout) return not_published(context.verification_id);
    // Published, but the generator has not answered yet: the code is on its way.
    return send_accepted(context);
  }
  const Reply& reply = *result;
  if (!belongs_to(reply, RequestKind::kSend, context.tenant))
    return error_response(internal_error());
  // The generator owns verification ids: a replayed request answers with the original one.
  const std::string& verification_id =
      reply.verification_id.empty() ? context.verification_id : reply.verification_id;
  if (reply.outcome != Outcome::kPending) return failure(verification_id, reply);
  JsonObjectText body;
  body.add("success", true)
      .add("verification_id", verification_id)
      .add("status", to_string(reply.status))
      .add("channel", to_string(reply.channel.value_or(context.channel)))
      .add("recipient", log::mask_recipient(context.recipient));
  if (reply.expires_at) body.add("expires_at", format_rfc3339(*reply.expires_at));
  if (reply.attempts_remaining) body.add("attempts_remaining", *reply.attempts_remaining);
  if (reply.code_length) body.add("code_length", *reply.code_length);
  auto response = json_text_response(200, body.finish());
  add_rate_limit_headers(response, reply);
  return response;
}

HttpResponse send_async_response(const SendContext& context, const Result<void>& published) {
  if (!published) return not_published(context.verification_id);
  return async_applied(send_accepted(context));
}

HttpResponse resend_async_response(const ActionContext& context, const Result<void>& published) {
  if (!published) return not_published(context.verification_id);
  return async_applied(resend_accepted(context));
}

void add_rate_limit_headers(HttpResponse& response, const Reply& reply) {
  if (reply.rate_limit_limit) {
    response.headers.emplace_back("RateLimit-Limit", std::to_string(*reply.rate_limit_limit));
  }
  if (reply.rate_limit_remaining) {
    response.headers.emplace_back("RateLimit-Remaining",
                                  std::to_string(std::max(0, *reply.rate_limit_remaining)));
  }
  if (reply.rate_limit_reset_seconds) {
    response.headers.emplace_back("RateLimit-Reset",
                                  std::to_string(std::max(0, *reply.rate_limit_reset_seconds)));
  }
}

HttpResponse resend_response(const ActionContext& context, const ReplyResult& result) {
  if (!result) {
    if (result.error().code != Errc::kTimeout) return not_published(context.verification_id);
    return resend_accepted(context);
  }
  const Reply& reply = *result;
  if (!belongs_to(reply, RequestKind::kResend, context.tenant)) {
    return error_response(internal_error());
  }
  if (reply.outcome != Outcome::kPending) return failure(context.verification_id, reply);
  nlohmann::ordered_json body = {{"success", true},
                                 {"verification_id", context.verification_id},
                                 {"status", to_string(reply.status)}};
  add_state(body, reply);
  auto response = json_response(200, body);
  add_rate_limit_headers(response, reply);
  return response;
}

HttpResponse cancel_response(const ActionContext& context, const ReplyResult& result) {
  if (!result) {
    if (result.error().code != Errc::kTimeout) return not_published(context.verification_id);
    // Published: the generator will cancel it; the client can confirm with GET /otp/status.
    return json_response(202, {{"success", true}, {"verification_id", context.verification_id}});
  }
  const Reply& reply = *result;
  if (!belongs_to(reply, RequestKind::kCancel, context.tenant)) {
    return error_response(internal_error());
  }
  const bool canceled_now = reply.outcome == Outcome::kOk ||
                            (reply.outcome == Outcome::kCanceled &&
                             reply.status == messages::Status::kCanceled && reply.message.empty());
  if (!canceled_now) return failure(context.verification_id, reply);
  return json_response(
      200,
      {{"success", true}, {"verification_id", context.verification_id}, {"status", "canceled"}});
}

HttpResponse status_response(const ActionContext& context, const ReplyResult& result) {
  if (!result) return not_published(context.verification_id);
  const Reply& reply = *result;
  if (!belongs_to(reply, RequestKind::kStatus, context.tenant)) {
    return error_response(internal_error());
  }
  if (reply.outcome != Outcome::kOk) return failure(context.verification_id, reply);
  nlohmann::ordered_json body = {{"success", true},
                                 {"verification_id", context.verification_id},
                                 {"status", to_string(reply.status)}};
  add_state(body, reply);
  return json_response(200, body);
}

HttpResponse verify_response(const VerifyContext& context, const ReplyResult& result) {
  if (!result) {
    // Unlike a send, an unanswered verify cannot be reported as anything but a failure.
    return not_published(context.verification_id);
  }
  const Reply& reply = *result;
  if (!belongs_to(reply, RequestKind::kVerify, context.tenant)) {
    return error_response(internal_error());
  }
  if (reply.outcome == Outcome::kApproved) {
    return json_text_response(200, JsonObjectText()
                                       .add("success", true)
                                       .add("verification_id", context.verification_id)
                                       .add("status", "approved")
                                       .finish());
  }
  return error_response(reply_error(reply), failure_fields(context.verification_id, reply));
}

}  // namespace otp::intake
