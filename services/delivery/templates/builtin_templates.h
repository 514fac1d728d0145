#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace otp::delivery {

/// A built-in default: the text (and for email the subject) with `{{code}}`, `{{brand}}` and
/// `{{minutes}}` placeholders. Email bodies are plain text; the renderer derives the HTML part.
struct BuiltinTemplate {
  std::string_view subject;
  std::string_view body;
};

/// The languages with built-in templates: en, es, pt, fr, de, hi.
[[nodiscard]] const std::vector<std::string>& builtin_languages();

/// The built-in template for `channel` ("sms", "email", "whatsapp") in `language`, if any.
/// Every one says not to share the code; SMS ones fit one segment for a short brand (GSM-7 for
/// en/fr/de, within 70 UCS-2 units for es/pt/hi).
[[nodiscard]] std::optional<BuiltinTemplate> builtin_template(std::string_view channel,
                                                              std::string_view language);

}  // namespace otp::delivery
