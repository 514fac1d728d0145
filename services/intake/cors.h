#pragma once

#include "services/intake/http_message.h"

#include <functional>
#include <string>
#include <vector>

namespace otp::intake {

/// CORS for browser clients, in front of the whole router (every route, compat ones included).
///
/// Only exact origins from the allowlist (OTP_CORS_ORIGINS; `scheme://host[:port]`, compared
/// byte for byte) get CORS headers:
///   - a preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) from an allowed
///     origin is answered here, 204 with Access-Control-Allow-Origin/-Methods/-Headers/-Max-Age;
///   - any other request from an allowed origin goes to the router and its response gets
///     Access-Control-Allow-Origin and Access-Control-Expose-Headers (RateLimit-*, Retry-After);
///   - requests from other origins, or without `Origin`, pass through untouched (a preflight
///     then gets the router's 404/405 without CORS headers, which the browser treats as denial).
/// Every response to a request with an `Origin` gets `Vary: Origin`. Credentials (cookies) are
/// never allowed: the API authenticates with headers. Thread-safe after construction.
class Cors {
 public:
  using Next = std::function<void(const HttpRequest& request, ResponseCallback respond)>;

  explicit Cors(std::vector<std::string> allowed_origins);

  void handle(const HttpRequest& request, ResponseCallback respond, const Next& next) const;

  [[nodiscard]] bool allows(std::string_view origin) const;

 private:
  std::vector<std::string> allowed_;
};

}  // namespace otp::intake
