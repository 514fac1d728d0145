#include "services/intake/api_router.h"

#include "services/intake/api_response.h"
#include "services/intake/handlers/cancel_handler.h"
#include "services/intake/handlers/resend_handler.h"
#include "services/intake/handlers/send_handler.h"
#include "services/intake/handlers/status_handler.h"
#include "services/intake/handlers/verify_handler.h"
#include "services/intake/idempotency.h"
#include "services/intake/json_body.h"
#include "services/intake/metrics.h"
#include "services/intake/prefer.h"
#include "services/intake/request_publisher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cstdint>

namespace otp::intake {
namespace {

/// 401 with the challenges RFC 9110 (11.6.1) requires: every scheme the API accepts.
HttpResponse unauthorized(std::string message) {
  HttpResponse response = error_response(ApiError{.status = 401,
                                                  .code = "unauthorized",
                                                  .message = std::move(message),
                                                  .retry_after = std::nullopt});
  response.headers.emplace_back("WWW-Authenticate", kAuthChallenge);
  return response;
}

std::string_view scope_name(Scope scope) {
  switch (scope) {
    case Scope::kSend:
      return "send";
    case Scope::kVerify:
      return "verify";
    case Scope::kRead:
      return "read";
  }
  return "unknown";
}

bool quiet_route(std::string_view path) {
  return path == "/healthz" || path == "/readyz" || path == "/metrics";
}

}  // namespace

RouteSpec tenant_route(std::string method, std::string path, Scope scope, bool json_body) {
  RouteSpec spec;
  spec.method = std::move(method);
  spec.path = std::move(path);
  spec.access = Access::kTenant;
  spec.scope = scope;
  spec.json_body = json_body;
  return spec;
}

RouteSpec public_route(std::string method, std::string path, bool json_body) {
  RouteSpec spec;
  spec.method = std::move(method);
  spec.path = std::move(path);
  spec.access = Access::kPublic;
  spec.json_body = json_body;
  return spec;
}

ApiRouter::ApiRouter(const Authenticator& authenticator, std::size_t max_body_bytes)
    : authenticator_(authenticator), max_body_bytes_(max_body_bytes) {}

void ApiRouter::add(RouteSpec spec, RouteHandler handler) {
  auto same = std::find_if(routes_.begin(), routes_.end(), [&](const Route& route) {
    return route.spec.path == spec.path && route.spec.method == spec.method;
  });
  if (same != routes_.end()) {
    same->handler = std::move(handler);
    same->spec = std::move(spec);
    return;
  }
  routes_.push_back(Route{.spec = std::move(spec), .handler = std::move(handler)});
}

void ApiRouter::handle(const HttpRequest& request, ResponseCallback respond) const {
  const Route* path_match = nullptr;
  const Route* match = nullptr;
  std::string allow;
  for (const auto& route : routes_) {
    if (route.spec.path != request.path) continue;
    path_match = &route;
    if (!allow.empty()) allow += ", ";
    allow += route.spec.method;
    if (route.spec.method == request.method) match = &route;
  }
  const std::string_view route_name =
      path_match == nullptr ? std::string_view("unknown") : std::string_view(path_match->spec.path);

  ResponseCallback logged = [respond = std::move(respond), route_name, method = request.method,
                             observer = &observer_,
                             started = std::chrono::steady_clock::now()](HttpResponse response) {
    const auto latency = std::chrono::steady_clock::now() - started;
    spdlog::log(quiet_route(route_name) ? spdlog::level::debug : spdlog::level::info,
                "http.request method={} route={} status={} latency_ms={}", method, route_name,
                response.status,
                std::chrono::duration_cast<std::chrono::milliseconds>(latency).count());
    if (*observer) (*observer)(route_name, method, response.status, latency);
    respond(std::move(response));
  };

  // First, whatever the route: an unread body must not be parsed as the next request.
  if (body_too_large(request)) {
    HttpResponse response = error_response(invalid_request(
        "payload too large: at most " + std::to_string(max_body_bytes_) + " bytes"));
    response.status = 413;
    response.close_connection = true;
    logged(std::move(response));
    return;
  }
  if (path_match == nullptr) {
    logged(error_response(ApiError{
        .status = 404, .code = "not_found", .message = "no such route", .retry_after = {}}));
    return;
  }
  if (match == nullptr) {
    HttpResponse response = error_response(ApiError{.status = 405,
                                                    .code = "invalid_request",
                                                    .message = "method not allowed; use " + allow,
                                                    .retry_after = {}});
    response.headers.emplace_back("Allow", allow);
    logged(std::move(response));
    return;
  }
  dispatch(*match, request, std::move(logged));
}

void ApiRouter::dispatch(const Route& route, const HttpRequest& request,
                         ResponseCallback respond) const {
  std::optional<Tenant> tenant;
  if (route.spec.access == Access::kTenant) {
    auto authenticated = authenticator_.authenticate_request(request);
    if (!authenticated) {
      const auto& error = authenticated.error();
      if (error.is_retryable()) {
        spdlog::warn("intake.auth_unavailable reason=\"{}\"", error.message);
        respond(error_response(unavailable("authentication is temporarily unavailable; retry")));
      } else if (error.code == Errc::kNotFound) {
        respond(unauthorized(error.message));
      } else {
        respond(unauthorized("invalid API key or secret"));
      }
      return;
    }
    tenant = std::move(*authenticated);
    if (route.spec.scope && !tenant->allows(*route.spec.scope)) {
      respond(
          error_response(ApiError{.status = 403,
                                  .code = "forbidden",
                                  .message = "this API key lacks the '" +
                                             std::string(scope_name(*route.spec.scope)) + "' scope",
                                  .retry_after = {}}));
      return;
    }
  }
  std::optional<nlohmann::json> body;
  if (route.spec.json_body) {
    auto parsed = parse_json_object(request.body);
    if (!parsed) {
      respond(error_response(parsed.error()));
      return;
    }
    body = std::move(*parsed);
  }
  const RouteRequest route_request{
      .http = request, .tenant = tenant ? &*tenant : nullptr, .body = body ? &*body : nullptr};
  route.handler(route_request, std::move(respond));
}

bool ApiRouter::body_too_large(const HttpRequest& request) const {
  if (request.body.size() > max_body_bytes_) return true;
  auto declared = request.header("Content-Length");
  if (!declared) return false;
  std::uint64_t length = 0;
  auto [end, error] =
      std::from_chars(declared->data(), declared->data() + declared->size(), length);
  // The HTTP parser has already rejected malformed lengths; an overflow is certainly too large.
  if (error == std::errc::result_out_of_range) return true;
  return error == std::errc() && length > max_body_bytes_;
}

void add_core_routes(ApiRouter& router, SendHandler& send, VerifyHandler& verify,
                     const ReplyReadiness& readiness, std::vector<ReadinessProbe> probes) {
  router.add(tenant_route("POST", "/otp/send", Scope::kSend, true),
             [&send](const RouteRequest& request, ResponseCallback respond) {
               auto key = idempotency_key(request.http);
               if (!key) {
                 respond(error_response(key.error()));
                 return;
               }
               send.handle(*request.tenant, *request.body,
                           SendOptions{.idempotency_key = std::move(*key),
                                       .respond_async = prefers_respond_async(request.http)},
                           std::move(respond));
             });
  router.add(tenant_route("POST", "/otp/verify", Scope::kVerify, true),
             [&verify](const RouteRequest& request, ResponseCallback respond) {
               verify.handle(*request.tenant, *request.body, std::move(respond));
             });
  router.add(public_route("GET", "/healthz"),
             [](const RouteRequest& /*request*/, ResponseCallback respond) {
               respond(json_response(200, {{"status", "ok"}}));
             });
  router.add(public_route("GET", "/readyz"),
             [&readiness, probes = std::move(probes)](const RouteRequest& /*request*/,
                                                      ResponseCallback respond) {
               auto reason = readiness.unready_reason();
               for (const auto& probe : probes) {
                 if (reason) break;
                 reason = probe();
               }
               if (reason) {
                 respond(json_response(503, {{"status", "unavailable"}, {"reason", *reason}}));
               } else {
                 respond(json_response(200, {{"status", "ok"}}));
               }
             });
}

void add_verification_routes(ApiRouter& router, ResendHandler& resend, CancelHandler& cancel,
                             StatusHandler& status) {
  router.add(tenant_route("POST", "/otp/resend", Scope::kSend, true),
             [&resend](const RouteRequest& request, ResponseCallback respond) {
               auto key = idempotency_key(request.http);
               if (!key) {
                 respond(error_response(key.error()));
                 return;
               }
               resend.handle(*request.tenant, *request.body, *key,
                             prefers_respond_async(request.http), std::move(respond));
             });
  router.add(tenant_route("POST", "/otp/cancel", Scope::kSend, true),
             [&cancel](const RouteRequest& request, ResponseCallback respond) {
               cancel.handle(*request.tenant, *request.body, std::move(respond));
             });
  router.add(tenant_route("GET", "/otp/status", Scope::kRead, false),
             [&status](const RouteRequest& request, ResponseCallback respond) {
               status.handle(*request.tenant, request.http.query, std::move(respond));
             });
}

void add_metrics_route(ApiRouter& router, HttpMetrics& metrics) {
  router.set_observer([&metrics](std::string_view route, std::string_view method, int status,
                                 std::chrono::nanoseconds latency) {
    metrics.observe(route, method, status, latency);
  });
  router.add(public_route("GET", "/metrics"),
             [&metrics](const RouteRequest& /*request*/, ResponseCallback respond) {
               HttpResponse response;
               response.status = 200;
               response.headers = {{"Content-Type", "text/plain; version=0.0.4; charset=utf-8"},
                                   {"Cache-Control", "no-store"}};
               response.body = metrics.render();
               respond(std::move(response));
             });
}

}  // namespace otp::intake
