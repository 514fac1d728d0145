#pragma once

#include "common/error/error.h"

#include <map>
#include <string>
#include <string_view>

namespace otp::delivery {

/// Placeholders a template may use: `{{code}}` (required), `{{brand}}`, `{{minutes}}`.
/// Spaces inside the braces are allowed (`{{ code }}`).
using TemplateValues = std::map<std::string, std::string, std::less<>>;

/// Replaces every placeholder with its value; an unknown placeholder is left as written
/// (validation refuses such templates before they are stored).
[[nodiscard]] std::string substitute(std::string_view text, const TemplateValues& values);

/// `& < > " '` as HTML entities.
[[nodiscard]] std::string html_escape(std::string_view text);

/// What validation learned about a template: the SMS figures for a sample rendering (a 6-digit
/// code, the brand "Example", 10 minutes), for `otpctl template set` to show.
struct TemplateCheck {
  int segments = 0;
  std::string encoding;
  std::size_t rendered_length = 0;
};

/// Limits: SMS body 480 bytes and at most 3 segments rendered; WhatsApp body 1024 bytes; email
/// subject 200 bytes without line breaks, email body 10000 bytes; sender 254 bytes without line
/// breaks; name `[a-z0-9_-]{1,64}`; locale a language with an optional region (`pt-BR`).
struct TemplateLimits {
  static constexpr std::size_t kSmsBody = 480;
  static constexpr int kSmsSegments = 3;
  static constexpr std::size_t kWhatsAppBody = 1024;
  static constexpr std::size_t kEmailSubject = 200;
  static constexpr std::size_t kEmailBody = 10000;
  static constexpr std::size_t kSender = 254;
  static constexpr std::size_t kName = 64;
};

/// kInvalidInput with a message an operator can act on: `{{code}}` missing, an unknown
/// placeholder, an unterminated `{{`, a limit exceeded, a bad channel/name/locale/sender.
[[nodiscard]] Result<TemplateCheck> validate_template(
    std::string_view channel, std::string_view locale, std::string_view name,
    std::string_view subject, std::string_view body, std::string_view sender);

}  // namespace otp::delivery
