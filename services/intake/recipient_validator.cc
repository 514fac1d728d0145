#include "services/intake/recipient_validator.h"

#include "common/phone/numbering_plans.h"

#include <algorithm>
#include <cctype>

namespace otp::intake {
namespace {

// Longer than any formatted international number, short enough to bound the parser's work.
constexpr std::size_t kMaxPhoneInput = 32;
constexpr std::size_t kMaxEmailLength = 254;
constexpr std::size_t kMaxLocalPartLength = 64;

bool is_phone_punctuation(char c) {
  return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')';
}

bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }

// Spaces, controls (including DEL) and the characters that would make the address ambiguous in
// mail headers.
bool is_forbidden_email_char(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte <= 0x20 || byte == 0x7f || c == '<' || c == '>' || c == ',' || c == ';' || c == '"' ||
         c == '\\';
}

bool is_valid_domain(std::string_view domain) {
  if (domain.empty() || domain.find('.') == std::string_view::npos) return false;
  std::size_t start = 0;
  while (start <= domain.size()) {
    auto end = domain.find('.', start);
    if (end == std::string_view::npos) end = domain.size();
    auto label = domain.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    start = end + 1;
  }
  return true;
}

}  // namespace

Result<std::string> normalize_phone_number(std::string_view text) {
  if (text.empty() || text.size() > kMaxPhoneInput || text.front() != '+') {
    return fail(Errc::kInvalidInput,
                "recipient must be a phone number in E.164 form (+ and country code)");
  }
  if (!std::all_of(text.begin() + 1, text.end(),
                   [](char c) { return is_ascii_digit(c) || is_phone_punctuation(c); })) {
    return fail(Errc::kInvalidInput, "recipient must contain only digits after the +");
  }
  // libphonenumber's Parse(text, "ZZ") + IsValidNumber + Format(E164), without its regular
  // expressions for "+digits" input (common/phone/README.md).
  auto e164 = phone::NumberingPlans::shared().normalize(text);
  if (!e164) return fail(Errc::kInvalidInput, "recipient is not a valid phone number");
  return std::move(*e164);
}

Result<std::string> normalize_email(std::string_view text) {
  if (text.empty() || text.size() > kMaxEmailLength) {
    return fail(Errc::kInvalidInput,
                "recipient must be an email address of at most 254 characters");
  }
  if (std::any_of(text.begin(), text.end(), is_forbidden_email_char)) {
    return fail(Errc::kInvalidInput, "recipient must not contain spaces or control characters");
  }
  const auto at = text.find('@');
  if (at == std::string_view::npos || text.find('@', at + 1) != std::string_view::npos) {
    return fail(Errc::kInvalidInput, "recipient must contain exactly one @");
  }
  const auto local = text.substr(0, at);
  const auto domain = text.substr(at + 1);
  if (local.empty() || local.size() > kMaxLocalPartLength) {
    return fail(Errc::kInvalidInput, "recipient's local part must have 1 to 64 characters");
  }
  if (!is_valid_domain(domain)) {
    return fail(Errc::kInvalidInput, "recipient's domain is not valid");
  }
  std::string normalized(local);
  normalized.push_back('@');
  std::transform(domain.begin(), domain.end(), std::back_inserter(normalized), [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  });
  return normalized;
}

Result<std::string> normalize_recipient(messages::Channel channel, std::string_view text) {
  switch (channel) {
    case messages::Channel::kEmail:
      return normalize_email(text);
    case messages::Channel::kSms:
    case messages::Channel::kWhatsapp:
      break;
  }
  return normalize_phone_number(text);
}

}  // namespace otp::intake
