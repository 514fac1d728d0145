#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace otp::intake {

using HttpHeader = std::pair<std::string, std::string>;

/// One HTTP request as the intake's logic sees it: a plain value copied out of the server library
/// (RESTinio stays inside http_server.cc), so routing and handlers are testable without a socket.
struct HttpRequest {
  std::string method;  ///< upper case, e.g. `POST`
  std::string path;    ///< the request target without its query string
  std::string query;   ///< the raw query string after `?` (not decoded), empty if none
  std::vector<HttpHeader> headers;
  std::string body;

  /// The first header with this name (compared case-insensitively), if any.
  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const;
};

/// One HTTP response. `headers` are sent as given; the server adds Content-Length and Date.
struct HttpResponse {
  int status = 200;
  std::vector<HttpHeader> headers;
  std::string body;
  /// Close the connection after this response (used when the request body was left unread).
  bool close_connection = false;

  /// The first header with this name (compared case-insensitively), if any.
  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const;
};

/// Completes one request. Must be called exactly once, from any thread; the server sends the
/// response on the connection's own executor, so the caller never blocks on the socket.
using ResponseCallback = std::function<void(HttpResponse)>;

/// The standard reason phrase for `status` (`Payload Too Large` for 413), or `Unknown`.
[[nodiscard]] std::string_view reason_phrase(int status) noexcept;

}  // namespace otp::intake
