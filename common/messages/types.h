#pragma once

#include "common/error/error.h"

#include <optional>
#include <string>
#include <string_view>

namespace otp::messages {

enum class Channel { kSms, kEmail, kWhatsapp };
[[nodiscard]] std::string_view to_string(Channel channel) noexcept;
[[nodiscard]] Result<Channel> parse_channel(std::string_view text);

/// The Twilio-like lifecycle of a verification.
enum class Status { kPending, kApproved, kCanceled, kMaxAttemptsReached, kExpired, kFailed };
[[nodiscard]] std::string_view to_string(Status status) noexcept;
[[nodiscard]] Result<Status> parse_status(std::string_view text);

/// What the generator answers to one request. The intake maps each to an HTTP reply.
enum class Outcome {
  kPending,      ///< send: a code was issued (or an earlier one replayed) and is being delivered
  kApproved,     ///< verify: the code matched; the verification is approved and consumed
  kInvalidCode,  ///< verify: wrong code, an attempt was used
  kExpired,      ///< verify: the code's time ran out
  kMaxAttemptsReached,  ///< verify: no attempts left
  kAlreadyVerified,     ///< verify: the code was already used
  kCanceled,            ///< verify: the verification was canceled
  kNotFound,            ///< verify: unknown id, or another tenant's
  kRateLimited,         ///< send: a send limit (per destination, per tenant) said no; wait
  kInvalidRequest,      ///< the request could never succeed (e.g. bad recipient for the channel)
  kCountryBlocked,      ///< send: the tenant does not allow the recipient's country
  kRecipientLocked,     ///< too many consecutive failed checks for the recipient; wait
  kUnavailable,         ///< a dependency (Redis) failed; fail closed
  kDelivered,           ///< delivery reply: a provider accepted the message
  kDeliveryFailed,      ///< delivery reply: every provider refused, or the deadline passed
  kOk,                  ///< resend, cancel, status: done (status and details in the reply)
};
[[nodiscard]] std::string_view to_string(Outcome outcome) noexcept;
[[nodiscard]] Result<Outcome> parse_outcome(std::string_view text);

}  // namespace otp::messages
