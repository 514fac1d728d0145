#include "common/http/http_client.h"

#include <algorithm>
#include <cctype>

namespace otp::http {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

bool is_form_unreserved(unsigned char c) {
  return std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '*';
}

void append_form_component(std::string& out, std::string_view text) {
  constexpr std::string_view kHex = "0123456789ABCDEF";
  for (char raw : text) {
    const auto c = static_cast<unsigned char>(raw);
    if (is_form_unreserved(c)) {
      out.push_back(raw);
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4U]);
      out.push_back(kHex[c & 0x0FU]);
    }
  }
}

}  // namespace

HttpClient::~HttpClient() = default;

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return std::nullopt;
}

std::string form_urlencode(const HeaderList& fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out.push_back('&');
    append_form_component(out, name);
    out.push_back('=');
    append_form_component(out, value);
  }
  return out;
}

std::string url_origin(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return "<invalid url>";
  const auto authority_start = scheme_end + 3;
  auto authority_end = url.find_first_of("/?#", authority_start);
  if (authority_end == std::string_view::npos) authority_end = url.size();
  auto origin = url.substr(0, authority_end);
  // Credentials in the authority (`user:pass@host`) must not reach an error message.
  if (const auto at = origin.rfind('@'); at != std::string_view::npos && at > authority_start) {
    return std::string(url.substr(0, authority_start)) + std::string(origin.substr(at + 1));
  }
  return std::string(origin);
}

}  // namespace otp::http
