#include "common/messages/types.h"

#include <array>
#include <utility>

namespace otp::messages {
namespace {

template <class Enum, std::size_t N>
Result<Enum> parse_from(const std::array<std::pair<Enum, std::string_view>, N>& table,
                        std::string_view text, const char* what) {
  for (const auto& [value, name] : table) {
    if (name == text) return value;
  }
  return fail(Errc::kInvalidInput, std::string("is not a known ") + what);
}

template <class Enum, std::size_t N>
std::string_view name_of(const std::array<std::pair<Enum, std::string_view>, N>& table,
                         Enum value) {
  for (const auto& [candidate, name] : table) {
    if (candidate == value) return name;
  }
  return "unknown";
}

constexpr std::array<std::pair<Channel, std::string_view>, 3> kChannels{{
    {Channel::kSms, "sms"},
    {Channel::kEmail, "email"},
    {Channel::kWhatsapp, "whatsapp"},
}};

constexpr std::array<std::pair<Status, std::string_view>, 6> kStatuses{{
    {Status::kPending, "pending"},
    {Status::kApproved, "approved"},
    {Status::kCanceled, "canceled"},
    {Status::kMaxAttemptsReached, "max_attempts_reached"},
    {Status::kExpired, "expired"},
    {Status::kFailed, "failed"},
}};

constexpr std::array<std::pair<Outcome, std::string_view>, 16> kOutcomes{{
    {Outcome::kPending, "pending"},
    {Outcome::kApproved, "approved"},
    {Outcome::kInvalidCode, "invalid_code"},
    {Outcome::kExpired, "expired"},
    {Outcome::kMaxAttemptsReached, "max_attempts_reached"},
    {Outcome::kAlreadyVerified, "already_verified"},
    {Outcome::kCanceled, "canceled"},
    {Outcome::kNotFound, "not_found"},
    {Outcome::kRateLimited, "rate_limited"},
    {Outcome::kInvalidRequest, "invalid_request"},
    {Outcome::kCountryBlocked, "country_blocked"},
    {Outcome::kRecipientLocked, "recipient_locked"},
    {Outcome::kUnavailable, "unavailable"},
    {Outcome::kDelivered, "delivered"},
    {Outcome::kDeliveryFailed, "delivery_failed"},
    {Outcome::kOk, "ok"},
}};

}  // namespace

std::string_view to_string(Channel channel) noexcept { return name_of(kChannels, channel); }
Result<Channel> parse_channel(std::string_view text) {
  return parse_from(kChannels, text, "channel (sms, email, whatsapp)");
}

std::string_view to_string(Status status) noexcept { return name_of(kStatuses, status); }
Result<Status> parse_status(std::string_view text) { return parse_from(kStatuses, text, "status"); }

std::string_view to_string(Outcome outcome) noexcept { return name_of(kOutcomes, outcome); }
Result<Outcome> parse_outcome(std::string_view text) {
  return parse_from(kOutcomes, text, "outcome");
}

}  // namespace otp::messages
