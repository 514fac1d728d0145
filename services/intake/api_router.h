#pragma once

#include "services/intake/authenticator.h"
#include "services/intake/http_message.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace otp::intake {

/// Who may call a route.
enum class Access {
  kPublic,  ///< no credentials (health, metrics, OAuth token endpoint, compat routes that
            ///< authenticate by themselves)
  kTenant,  ///< credentials required; the handler gets the authenticated tenant
};

/// One route: method and exact path, who may call it, the scope a key needs, and whether the
/// body must be a JSON object (parsed once, before the handler runs).
struct RouteSpec {
  std::string method;
  std::string path;
  Access access = Access::kTenant;
  std::optional<Scope> scope;  ///< checked for kTenant routes: a key without it gets 403
  bool json_body = false;
};

/// A kTenant route that needs `scope`.
[[nodiscard]] RouteSpec tenant_route(std::string method, std::string path, Scope scope,
                                     bool json_body);
/// A kPublic route.
[[nodiscard]] RouteSpec public_route(std::string method, std::string path, bool json_body = false);

/// What a handler sees: the request, the tenant (null on public routes), and the parsed body
/// (null unless the route asked for `json_body`).
struct RouteRequest {
  const HttpRequest& http;
  const Tenant* tenant = nullptr;
  const nlohmann::json* body = nullptr;
};

/// Answers one request; must call `respond` exactly once, possibly later and from another thread.
using RouteHandler = std::function<void(const RouteRequest& request, ResponseCallback respond)>;

/// Told about every response: the route's path (`unknown` for no route), the method, the status
/// and the time from arrival to response. Must be cheap and thread-safe (metrics, logs).
using ResponseObserver = std::function<void(std::string_view route, std::string_view method,
                                            int status, std::chrono::nanoseconds latency)>;

/// The HTTP API in front of the handlers: routing, size limit, authentication and scopes, JSON
/// parsing, and the per-request log line. Pure logic over HttpRequest/HttpResponse.
///
/// Per request, in order:
///   1. a body over `max_body_bytes` (declared by Content-Length, or actual) -> 413
///      `invalid_request`, closing the connection (the body was not read);
///   2. unknown path -> 404 `not_found`; known path, other method -> 405 `invalid_request` with
///      an Allow header;
///   3. kTenant routes: no credentials or wrong ones -> 401 `unauthorized` (503 if the key store
///      is down); a key without the route's scope -> 403 `forbidden`;
///   4. `json_body` routes: body not a UTF-8 JSON object -> 400 `invalid_request`;
///   5. the handler.
/// Every response is JSON. One log line per request: `http.request method= route= status=
/// latency_ms=` (info; debug for /healthz, /readyz and /metrics), never with a body, secret or
/// recipient.
///
/// Routes are added before serving starts (`add` is not thread-safe); `handle` is thread-safe
/// if the handlers are. Holds a reference to the authenticator, which must outlive it.
class ApiRouter {
 public:
  ApiRouter(const Authenticator& authenticator, std::size_t max_body_bytes);

  /// Adds a route. A second route with the same method and path replaces the first.
  void add(RouteSpec spec, RouteHandler handler);
  /// Set before serving starts.
  void set_observer(ResponseObserver observer) { observer_ = std::move(observer); }

  /// Calls `respond` exactly once, possibly later and from another thread.
  void handle(const HttpRequest& request, ResponseCallback respond) const;

 private:
  struct Route {
    RouteSpec spec;
    RouteHandler handler;
  };

  void dispatch(const Route& route, const HttpRequest& request, ResponseCallback respond) const;
  [[nodiscard]] bool body_too_large(const HttpRequest& request) const;

  const Authenticator& authenticator_;
  std::size_t max_body_bytes_;
  std::vector<Route> routes_;
  ResponseObserver observer_;
};

class SendHandler;
class VerifyHandler;
class ReplyReadiness;
class ResendHandler;
class CancelHandler;
class StatusHandler;
class HttpMetrics;

/// A dependency check for `/readyz`: nullopt when fine, else why not. Cheap and thread-safe.
using ReadinessProbe = std::function<std::optional<std::string>()>;

/// The foundation routes: `POST /otp/send` (scope send; an `Idempotency-Key` header is checked,
/// 400 if malformed; `Prefer: respond-async` answers from Kafka's acknowledgement, prefer.h),
/// `POST /otp/verify` (scope verify), `GET /healthz` -> 200
/// `{"status":"ok"}`, `GET /readyz` -> 200 `{"status":"ok"}` or 503
/// `{"status":"unavailable","reason":...}` from `readiness`, then each of `probes` in order. The
/// references must outlive `router`.
void add_core_routes(ApiRouter& router, SendHandler& send, VerifyHandler& verify,
                     const ReplyReadiness& readiness, std::vector<ReadinessProbe> probes = {});

/// `POST /otp/resend` (scope send, Idempotency-Key and `Prefer: respond-async` honoured),
/// `POST /otp/cancel` (scope send),
/// `GET /otp/status` (scope read). The references must outlive `router`.
void add_verification_routes(ApiRouter& router, ResendHandler& resend, CancelHandler& cancel,
                             StatusHandler& status);

/// `GET /metrics` (public, Prometheus text format 0.0.4) from `metrics`, and makes `metrics` the
/// router's observer. `metrics` must outlive `router`.
void add_metrics_route(ApiRouter& router, HttpMetrics& metrics);

}  // namespace otp::intake
