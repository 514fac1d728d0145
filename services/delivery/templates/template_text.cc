#include "services/delivery/templates/template_text.h"

#include "services/delivery/providers/sms_encoding.h"
#include "services/delivery/templates/locale.h"

#include <algorithm>

namespace otp::delivery {
namespace {

constexpr std::string_view kKnown[] = {"code", "brand", "minutes"};

std::string_view trim(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

// Calls `on_placeholder(name)` for each `{{name}}`, `on_text(text)` for what lies between.
// Returns false on an unterminated `{{`.
template <typename Text, typename Placeholder>
bool scan(std::string_view text, Text&& on_text, Placeholder&& on_placeholder) {
  std::size_t position = 0;
  while (position < text.size()) {
    const auto open = text.find("{{", position);
    if (open == std::string_view::npos) {
      on_text(text.substr(position));
      return true;
    }
    const auto close = text.find("}}", open + 2);
    if (close == std::string_view::npos) {
      on_text(text.substr(position));
      return false;
    }
    on_text(text.substr(position, open - position));
    on_placeholder(trim(text.substr(open + 2, close - open - 2)),
                   text.substr(open, close + 2 - open));
    position = close + 2;
  }
  return true;
}

bool has_line_break(std::string_view text) {
  return text.find_first_of("\r\n") != std::string_view::npos;
}

}  // namespace

std::string substitute(std::string_view text, const TemplateValues& values) {
  std::string out;
  out.reserve(text.size() + 32);
  scan(
      text, [&](std::string_view part) { out += part; },
      [&](std::string_view name, std::string_view raw) {
        const auto value = values.find(name);
        out += value != values.end() ? std::string_view(value->second) : raw;
      });
  return out;
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

Result<TemplateCheck> validate_template(std::string_view channel, std::string_view locale,
                                        std::string_view name, std::string_view subject,
                                        std::string_view body, std::string_view sender) {
  if (channel != "sms" && channel != "email" && channel != "whatsapp") {
    return fail(Errc::kInvalidInput, "channel must be sms, email or whatsapp");
  }
  if (normalize_locale(locale).empty()) {
    return fail(Errc::kInvalidInput, "locale must look like en or pt-BR");
  }
  if (name.empty() || name.size() > TemplateLimits::kName ||
      !std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
      })) {
    return fail(Errc::kInvalidInput, "name must be 1-64 characters of a-z, 0-9, _ and -");
  }
  if (sender.size() > TemplateLimits::kSender || has_line_break(sender)) {
    return fail(Errc::kInvalidInput, "sender must be at most 254 bytes on one line");
  }
  bool has_code = false;
  std::string unknown;
  const auto check = [&](std::string_view text, std::string_view what) -> Result<void> {
    const bool terminated = scan(
        text, [](std::string_view) {},
        [&](std::string_view placeholder, std::string_view) {
          if (placeholder == "code" && what == "body") has_code = true;
          if (std::find(std::begin(kKnown), std::end(kKnown), placeholder) == std::end(kKnown) &&
              unknown.empty()) {
            unknown = std::string(placeholder);
          }
        });
    if (!terminated)
      return fail(Errc::kInvalidInput, std::string(what) + " has an unterminated {{");
    if (!unknown.empty()) {
      return fail(Errc::kInvalidInput, "unknown placeholder {{" + unknown + "}} in " +
                                           std::string(what) +
                                           " (allowed: {{code}}, {{brand}}, {{minutes}})");
    }
    return {};
  };
  if (auto checked = check(body, "body"); !checked) return tl::unexpected(checked.error());
  if (auto checked = check(subject, "subject"); !checked) return tl::unexpected(checked.error());
  if (!has_code) return fail(Errc::kInvalidInput, "body must contain the {{code}} placeholder");

  const TemplateValues sample = {{"code", "123456"}, {"brand", "Example"}, {"minutes", "10"}};
  TemplateCheck result;
  const auto rendered = substitute(body, sample);
  result.rendered_length = rendered.size();
  if (channel == "sms") {
    if (body.size() > TemplateLimits::kSmsBody) {
      return fail(Errc::kInvalidInput, "sms body is longer than 480 bytes");
    }
    const auto encoding = sms_encoding(rendered);
    result.segments = encoding.segments;
    result.encoding = std::string(encoding.name());
    if (encoding.segments > TemplateLimits::kSmsSegments) {
      return fail(Errc::kInvalidInput, "sms body renders to " + std::to_string(encoding.segments) +
                                           " segments (" + result.encoding + "); at most 3");
    }
    if (!subject.empty()) return fail(Errc::kInvalidInput, "sms templates have no subject");
  } else if (channel == "whatsapp") {
    if (body.size() > TemplateLimits::kWhatsAppBody) {
      return fail(Errc::kInvalidInput, "whatsapp body is longer than 1024 bytes");
    }
    if (!subject.empty()) return fail(Errc::kInvalidInput, "whatsapp templates have no subject");
  } else {
    if (subject.empty() || subject.size() > TemplateLimits::kEmailSubject ||
        has_line_break(subject)) {
      return fail(Errc::kInvalidInput, "email subject must be 1-200 bytes on one line");
    }
    if (body.size() > TemplateLimits::kEmailBody) {
      return fail(Errc::kInvalidInput, "email body is longer than 10000 bytes");
    }
  }
  return result;
}

}  // namespace otp::delivery
