#pragma once

#include "services/intake/authenticator.h"
#include "services/intake/handlers/send_handler.h"
#include "services/intake/handlers/verify_handler.h"
#include "services/intake/http_message.h"
#include "services/intake/request_publisher.h"

#include <cstddef>

namespace otp::intake {

/// The HTTP API in front of the handlers: routing, size limit, authentication, JSON parsing,
/// health endpoints and the per-request log line. Pure logic over HttpRequest/HttpResponse.
///
/// Per request, in order:
///   1. a body over `max_body_bytes` (declared by Content-Length, or actual) -> 413
///      `invalid_request`, closing the connection (the body was not read);
///   2. unknown path -> 404 `not_found`; known path, other method -> 405 `invalid_request` with
///      an Allow header;
///   3. `GET /healthz` -> 200 `{"status":"ok"}`; `GET /readyz` -> 200 `{"status":"ok"}` or 503
///      `{"status":"unavailable","reason":...}` from `readiness`;
///   4. `POST /otp/send`, `POST /otp/verify`: credentials missing or wrong -> 401
///      `unauthorized` (503 if the key store is down); body not UTF-8 JSON object -> 400
///      `invalid_request`; then the handler.
/// Every response is JSON. One log line per request: `http.request method= route= status=
/// latency_ms=` (info; debug for the health endpoints), never with a body, secret or recipient.
///
/// Holds references to its collaborators, which must outlive it. Thread-safe if they are.
class ApiRouter {
 public:
  ApiRouter(const Authenticator& authenticator, SendHandler& send, VerifyHandler& verify,
            const ReplyReadiness& readiness, std::size_t max_body_bytes);

  /// Calls `respond` exactly once, possibly later and from another thread.
  void handle(const HttpRequest& request, ResponseCallback respond);

 private:
  enum class Route { kSend, kVerify, kHealthz, kReadyz };

  void dispatch(Route route, const HttpRequest& request, ResponseCallback respond);
  [[nodiscard]] bool body_too_large(const HttpRequest& request) const;

  const Authenticator& authenticator_;
  SendHandler& send_;
  VerifyHandler& verify_;
  const ReplyReadiness& readiness_;
  std::size_t max_body_bytes_;
};

}  // namespace otp::intake
