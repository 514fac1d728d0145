#pragma once

#include "common/error/error.h"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace otp::http {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

/// One HTTP request as a plain value. `basic_auth` is (user, password) for HTTP Basic auth; it is
/// kept apart from `headers` so that the client can hand it to the transport without it ever
/// being formatted into a log line or an error message.
struct HttpRequest {
  std::string method;  ///< "GET", "POST", ...
  std::string url;     ///< absolute, e.g. "https://api.twilio.com/2010-04-01/..."
  HeaderList headers;
  std::string body;
  std::chrono::milliseconds timeout{10000};  ///< whole exchange: connect, send, receive
  std::optional<std::pair<std::string, std::string>> basic_auth;
};

/// The reply to an `HttpRequest`. Any status, 2xx or not, is a response: interpreting it is the
/// caller's job, because only the caller knows what a 404 or a 429 means for its API.
struct HttpResponse {
  long status = 0;
  std::string body;
  HeaderList headers;  ///< in arrival order, names as sent by the server, values trimmed
  std::chrono::milliseconds elapsed{};

  /// The first header called `name`, compared case-insensitively (RFC 9110).
  [[nodiscard]] std::optional<std::string> header(std::string_view name) const;
};

/// The seam between provider logic and the network: providers build `HttpRequest`s and interpret
/// `HttpResponse`s; tests substitute a recording fake. `send` fails only when no HTTP response
/// arrived: `Errc::kTimeout` when the exchange ran past `request.timeout`, `Errc::kUnavailable`
/// for connect, resolve, TLS and other transport failures, `Errc::kInternal` for a request the
/// transport cannot even attempt (malformed URL, unsupported scheme). Error messages name the
/// method and the URL's origin, never the path, the body or the credentials.
class HttpClient {
 public:
  virtual ~HttpClient();
  [[nodiscard]] virtual Result<HttpResponse> send(const HttpRequest& request) = 0;
};

/// `application/x-www-form-urlencoded` as browsers and Twilio's own SDKs write it (WHATWG URL
/// standard): `name=value` pairs joined by `&`, unreserved bytes `A-Z a-z 0-9 - . _ *` kept,
/// space as `+`, every other byte (UTF-8 included) as `%XX` in upper-case hex.
[[nodiscard]] std::string form_urlencode(const HeaderList& fields);

/// The scheme and authority of `url` (`https://api.twilio.com`), for error messages that must
/// not carry a path or a query.
[[nodiscard]] std::string url_origin(std::string_view url);

}  // namespace otp::http
