#include "services/intake/webhooks/form_body.h"

namespace otp::intake::webhooks {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> decode_component(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= text.size()) {
        return fail(Errc::kInvalidInput, "truncated percent escape");
      }
      const int high = hex_value(text[i + 1]);
      const int low = hex_value(text[i + 2]);
      if (high < 0 || low < 0) return fail(Errc::kInvalidInput, "malformed percent escape");
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

Result<std::vector<FormField>> parse_form(std::string_view text) {
  std::vector<FormField> fields;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find('&', start);
    if (end == std::string_view::npos) end = text.size();
    const auto pair = text.substr(start, end - start);
    start = end + 1;
    if (pair.empty()) continue;
    const auto equals = pair.find('=');
    auto name = decode_component(pair.substr(0, equals));
    if (!name) return tl::unexpected(name.error());
    auto value = decode_component(equals == std::string_view::npos ? std::string_view()
                                                                   : pair.substr(equals + 1));
    if (!value) return tl::unexpected(value.error());
    fields.emplace_back(std::move(*name), std::move(*value));
  }
  return fields;
}

const std::string* form_value(const std::vector<FormField>& fields, std::string_view name) {
  for (const auto& [key, value] : fields) {
    if (key == name) return &value;
  }
  return nullptr;
}

}  // namespace otp::intake::webhooks
