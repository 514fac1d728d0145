#pragma once

#include "common/messages/messages.h"
#include "common/messages/types.h"
#include "services/intake/api_response.h"
#include "services/intake/http_message.h"
#include "services/intake/request_publisher.h"

#include <string>

namespace otp::intake {

/// What a send request knew when it was published: enough to answer 202 without a reply, and to
/// check that a reply belongs to it.
struct SendContext {
  std::string tenant;
  std::string verification_id;
  messages::Channel channel = messages::Channel::kSms;
  std::string recipient;  ///< normalised; only ever answered masked
};

/// What a verify request knew when it was published.
struct VerifyContext {
  std::string tenant;
  std::string verification_id;
};

/// The answer to a send (docs/http-api.md):
///   - reply `pending` -> 200 with verification_id, status, channel, masked recipient,
///     expires_at, attempts_remaining and code_length;
///   - published, no reply in time (kTimeout) -> 202 with verification_id and status `pending`;
///   - not published (kUnavailable) -> 503 `unavailable`, retry_after 1;
///   - any other outcome -> its error (see `outcome_error`).
[[nodiscard]] HttpResponse send_response(const SendContext& context, const ReplyResult& result);

/// The answer to a send with `Prefer: respond-async`, once Kafka decided: acknowledged -> the
/// same 202 as a send without a reply in time, plus `Preference-Applied: respond-async`; not
/// published -> 503 `unavailable`, retry_after 1 (never 202).
[[nodiscard]] HttpResponse send_async_response(const SendContext& context,
                                               const Result<void>& published);

/// What a resend, cancel or status request knew when it was published.
using ActionContext = VerifyContext;

/// The answer to a resend: reply `pending` -> 200 with verification_id, status, channel,
/// expires_at, attempts_remaining, code_length (the recipient is not known to the intake here);
/// published, no reply in time -> 202 with verification_id and status `pending`; not published
/// -> 503; other outcomes -> their error. RateLimit-* headers as for send.
[[nodiscard]] HttpResponse resend_response(const ActionContext& context, const ReplyResult& result);

/// The answer to a resend with `Prefer: respond-async`: acknowledged -> the 202 of
/// `resend_response` plus `Preference-Applied: respond-async`; not published -> 503.
[[nodiscard]] HttpResponse resend_async_response(const ActionContext& context,
                                                 const Result<void>& published);

/// The answer to a cancel: reply `ok` (or `canceled` with status canceled and no message, as
/// older generators answer) -> 200 with verification_id and status `canceled`; published, no
/// reply in time -> 202 with verification_id (the cancel is queued); not published -> 503;
/// other outcomes -> their error (404 not_found, 409 already_verified or canceled, 410 expired).
[[nodiscard]] HttpResponse cancel_response(const ActionContext& context, const ReplyResult& result);

/// The answer to a status request: reply `ok` -> 200 with verification_id, status and, when
/// known, channel, expires_at and attempts_remaining; no reply in time or not published -> 503
/// (reading is always safe to retry); other outcomes (not_found) -> their error.
[[nodiscard]] HttpResponse status_response(const ActionContext& context, const ReplyResult& result);

/// `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` from the reply's rate_limit_*
/// fields, each only when present.
void add_rate_limit_headers(HttpResponse& response, const messages::Reply& reply);

/// The answer to a verify: reply `approved` -> 200 with verification_id and status `approved`;
/// no reply in time or not published -> 503 `unavailable`, retry_after 1 (the generator drops
/// verify requests that waited too long, so retrying is safe); other outcomes -> their error,
/// with verification_id and, when known, attempts_remaining.
[[nodiscard]] HttpResponse verify_response(const VerifyContext& context, const ReplyResult& result);

/// The API error for a failure outcome: invalid_code 400, expired 410, max_attempts_reached 429,
/// already_verified 409, canceled 409, not_found 404, rate_limited 429, recipient_locked 429,
/// invalid_request 400, country_blocked 403, unavailable 503 (retry_after 1). `message` (the
/// generator's) replaces the default message when not empty. `pending` and `approved` are not
/// failures: they map to 500 `internal`. The response functions above add the reply's
/// `retry_after_seconds` (at least 1) to rate_limited and recipient_locked as `retry_after` and
/// a Retry-After header.
[[nodiscard]] ApiError outcome_error(messages::Outcome outcome, const std::string& message);

}  // namespace otp::intake
