#include "services/delivery/templates/renderer.h"

#include "services/delivery/providers/sms_encoding.h"
#include "services/delivery/templates/builtin_templates.h"
#include "services/delivery/templates/locale.h"
#include "services/delivery/templates/template_text.h"

#include <algorithm>
#include <utility>

namespace otp::delivery {
namespace {

constexpr std::string_view kDefaultName = "default";

// Android SMS Retriever: the hash is 11 characters of base64.
bool valid_app_hash(std::string_view hash) {
  return hash.size() == 11 && std::all_of(hash.begin(), hash.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '+' || c == '/';
         });
}

struct Chosen {
  std::string subject;
  std::string body;
  std::string sender;
  std::string locale;
  std::string name;
  bool tenant = false;
};

// tenant(locale) > tenant(language) > built-in(language) > tenant(en) > built-in(en), first for
// the requested name, then (if it is not "default") for "default".
Chosen choose(const TemplateStore& store, const std::string& tenant, const std::string& channel,
              const std::string& locale, const std::string& name) {
  const std::string language = language_of(locale);
  std::vector<std::string> names = {name};
  if (name != kDefaultName) names.emplace_back(kDefaultName);
  for (const auto& candidate : names) {
    for (const auto& wanted : {locale, language, std::string("en")}) {
      if (wanted.empty()) continue;
      if (auto stored = store.find(tenant, channel, wanted, candidate)) {
        return {stored->subject, stored->body, stored->sender, wanted, candidate, true};
      }
      // Built-ins are "default" templates, per language only.
      if (candidate != kDefaultName || (wanted == locale && wanted != language)) continue;
      if (auto builtin = builtin_template(channel, wanted)) {
        return {std::string(builtin->subject),
                std::string(builtin->body),
                "",
                wanted,
                std::string(kDefaultName),
                false};
      }
    }
  }
  const auto english = builtin_template(channel, "en");
  return {std::string(english->subject),
          std::string(english->body),
          "",
          "en",
          std::string(kDefaultName),
          false};
}

// Plain text -> a minimal HTML document: escaped, paragraphs on blank lines, the code in bold.
std::string email_html(const std::string& text_template, const TemplateValues& values) {
  TemplateValues escaped;
  for (const auto& [key, value] : values) {
    escaped[key] = key == "code" ? "<strong style=\"font-size:1.4em;letter-spacing:0.1em\">" +
                                       html_escape(value) + "</strong>"
                                 : html_escape(value);
  }
  const auto body = substitute(html_escape(text_template), escaped);
  std::string html = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body><p>";
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body.compare(i, 2, "\n\n") == 0) {
      html += "</p><p>";
      ++i;
    } else if (body[i] == '\n') {
      html += "<br>";
    } else {
      html += body[i];
    }
  }
  html += "</p></body></html>";
  return html;
}

}  // namespace

Renderer::Renderer(const TemplateStore& store, std::string default_brand)
    : store_(store), default_brand_(std::move(default_brand)) {}

Result<RenderedMessage> Renderer::render(const RenderInput& input) const {
  if (input.code.empty()) return fail(Errc::kInvalidInput, "render: no code");
  const std::string channel(messages::to_string(input.channel));

  std::string locale = normalize_locale(input.locale);
  if (locale.empty()) locale = language_for_phone(input.recipient);
  if (locale.empty()) locale = "en";
  const std::string name =
      input.template_name.empty() ? std::string(kDefaultName) : input.template_name;
  const auto defaults = store_.sender_defaults(input.tenant, channel);
  std::string brand = input.sender;
  if (brand.empty() && defaults) brand = defaults->brand;
  if (brand.empty()) brand = default_brand_;

  const auto chosen = choose(store_, input.tenant, channel, locale, name);
  const TemplateValues values = {
      {"code", input.code},
      {"brand", brand},
      {"minutes", std::to_string(std::max<std::int64_t>(1, input.expires_in.count()))}};

  RenderedMessage out;
  out.locale = chosen.locale;
  out.template_name = chosen.name;
  out.tenant_template = chosen.tenant;
  out.sender = !chosen.sender.empty() ? chosen.sender : defaults ? defaults->sender : "";
  out.body = substitute(chosen.body, values);
  if (input.channel == messages::Channel::kSms) {
    if (valid_app_hash(input.app_hash)) out.body = "<#> " + out.body + "\n" + input.app_hash;
    const auto encoding = sms_encoding(out.body);
    out.segments = encoding.segments;
    out.encoding = std::string(encoding.name());
  } else if (input.channel == messages::Channel::kEmail) {
    out.subject = substitute(chosen.subject, values);
    out.text = out.body;
    out.body = email_html(chosen.body, values);
  }
  return out;
}

}  // namespace otp::delivery
