#pragma once

#include "common/error/error.h"
#include "common/http/curl_http_client.h"
#include "common/http/http_client.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <utility>

namespace otp::test {

/// One HTTP exchange as a test reads it: the response, or, when none arrived (nothing listens
/// yet, a timeout), `status` 0 and `error` saying why. Polling loops and assertions can then read
/// `status` without unwrapping a `Result` first.
struct HttpReply : http::HttpResponse {
  std::optional<Error> error;  ///< set when no response arrived

  /// The body as JSON; a discarded value (`is_discarded()`) when it is not JSON.
  [[nodiscard]] nlohmann::json body_json() const {
    return nlohmann::json::parse(body, nullptr, false);
  }
};

/// Sends `method url` with `body` and `headers` over a fresh `http::CurlHttpClient`: a connection
/// of its own per call, as separate clients would open them, so that calls from several test
/// threads need no coordination.
inline HttpReply send_http(std::string method, std::string url, std::string body = "",
                           http::HeaderList headers = {},
                           std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
  http::CurlHttpClient client;
  auto response = client.send(http::HttpRequest{.method = std::move(method),
                                                .url = std::move(url),
                                                .headers = std::move(headers),
                                                .body = std::move(body),
                                                .timeout = timeout,
                                                .basic_auth = std::nullopt});
  HttpReply reply;
  if (response) {
    static_cast<http::HttpResponse&>(reply) = std::move(*response);
  } else {
    reply.error = std::move(response.error());
  }
  return reply;
}

}  // namespace otp::test
