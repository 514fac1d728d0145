#pragma once

// Helpers for the provider unit tests: decode what a provider put on the wire.

#include "common/http/http_client.h"

#include <map>
#include <string>
#include <string_view>

namespace otp::delivery::test_util {

/// application/x-www-form-urlencoded -> name -> value (last wins), `+` as space, %XX decoded.
inline std::map<std::string, std::string> decode_form(std::string_view body) {
  auto unescape = [](std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '+') {
        out += ' ';
      } else if (text[i] == '%' && i + 2 < text.size()) {
        out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
        i += 2;
      } else {
        out += text[i];
      }
    }
    return out;
  };
  std::map<std::string, std::string> fields;
  std::size_t start = 0;
  while (start <= body.size()) {
    auto end = body.find('&', start);
    if (end == std::string_view::npos) end = body.size();
    const auto pair = body.substr(start, end - start);
    if (!pair.empty()) {
      const auto eq = pair.find('=');
      fields[unescape(pair.substr(0, eq))] =
          eq == std::string_view::npos ? "" : unescape(pair.substr(eq + 1));
    }
    start = end + 1;
  }
  return fields;
}

/// The value of the first header called `name` (exact), or "" if absent.
inline std::string header(const http::HttpRequest& request, std::string_view name) {
  for (const auto& [key, value] : request.headers) {
    if (key == name) return value;
  }
  return {};
}

inline http::HttpResponse response(long status, std::string body, http::HeaderList headers = {}) {
  http::HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

}  // namespace otp::delivery::test_util
