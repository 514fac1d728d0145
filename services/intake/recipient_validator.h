#pragma once

#include "common/error/error.h"
#include "common/messages/types.h"

#include <string>
#include <string_view>

namespace otp::intake {

/// Input checks and normalisation for recipients. Free functions, thread-safe; libphonenumber
/// stays inside the .cc. Failures are kInvalidInput with a reason that never repeats the input.

/// A phone number in international form (`+` and country code; spaces, dashes, dots and
/// parentheses allowed) that libphonenumber considers valid, formatted as E.164
/// (`+14155552671`). Extensions and vanity letters are refused.
[[nodiscard]] Result<std::string> normalize_phone_number(std::string_view text);

/// An email address with one `@`, a local part of 1..64 characters, a domain of dot-separated
/// non-empty labels with at least one dot, at most 254 characters in total, and no spaces or
/// control characters. The domain is lower-cased (domains are case-insensitive; local parts
/// are left as given).
[[nodiscard]] Result<std::string> normalize_email(std::string_view text);

/// `normalize_phone_number` for sms and whatsapp, `normalize_email` for email.
[[nodiscard]] Result<std::string> normalize_recipient(messages::Channel channel,
                                                      std::string_view text);

}  // namespace otp::intake
