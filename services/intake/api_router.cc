#include "services/intake/api_router.h"

#include "services/intake/api_response.h"
#include "services/intake/json_body.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <string_view>

namespace otp::intake {
namespace {

struct RouteEntry {
  std::string_view path;
  std::string_view method;
};

ApiError unauthorized(std::string message) {
  return ApiError{.status = 401,
                  .code = "unauthorized",
                  .message = std::move(message),
                  .retry_after = std::nullopt};
}

}  // namespace

ApiRouter::ApiRouter(const Authenticator& authenticator, SendHandler& send, VerifyHandler& verify,
                     const ReplyReadiness& readiness, std::size_t max_body_bytes)
    : authenticator_(authenticator),
      send_(send),
      verify_(verify),
      readiness_(readiness),
      max_body_bytes_(max_body_bytes) {}

void ApiRouter::handle(const HttpRequest& request, ResponseCallback respond) {
  static constexpr std::array<std::pair<RouteEntry, Route>, 4> kRoutes{{
      {{"/otp/send", "POST"}, Route::kSend},
      {{"/otp/verify", "POST"}, Route::kVerify},
      {{"/healthz", "GET"}, Route::kHealthz},
      {{"/readyz", "GET"}, Route::kReadyz},
  }};
  const auto* match = std::find_if(kRoutes.begin(), kRoutes.end(), [&](const auto& entry) {
    return entry.first.path == request.path;
  });
  const std::string_view route_name = match == kRoutes.end() ? "unknown" : match->first.path;
  const bool health = match != kRoutes.end() &&
                      (match->second == Route::kHealthz || match->second == Route::kReadyz);

  ResponseCallback logged = [respond = std::move(respond), route_name, health,
                             method = request.method,
                             started = std::chrono::steady_clock::now()](HttpResponse response) {
    const auto latency = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    spdlog::log(health ? spdlog::level::debug : spdlog::level::info,
                "http.request method={} route={} status={} latency_ms={}", method, route_name,
                response.status, latency.count());
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
  if (match == kRoutes.end()) {
    logged(error_response(ApiError{
        .status = 404, .code = "not_found", .message = "no such route", .retry_after = {}}));
    return;
  }
  if (request.method != match->first.method) {
    HttpResponse response = error_response(
        ApiError{.status = 405,
                 .code = "invalid_request",
                 .message = "method not allowed; use " + std::string(match->first.method),
                 .retry_after = {}});
    response.headers.emplace_back("Allow", std::string(match->first.method));
    logged(std::move(response));
    return;
  }
  dispatch(match->second, request, std::move(logged));
}

void ApiRouter::dispatch(Route route, const HttpRequest& request, ResponseCallback respond) {
  if (route == Route::kHealthz) {
    respond(json_response(200, {{"status", "ok"}}));
    return;
  }
  if (route == Route::kReadyz) {
    if (auto reason = readiness_.unready_reason()) {
      respond(json_response(503, {{"status", "unavailable"}, {"reason", *reason}}));
    } else {
      respond(json_response(200, {{"status", "ok"}}));
    }
    return;
  }

  auto credentials = read_credentials(request);
  if (!credentials) {
    respond(error_response(unauthorized("X-API-Key and X-API-Secret headers are required")));
    return;
  }
  auto tenant = authenticator_.authenticate(*credentials);
  if (!tenant) {
    if (tenant.error().is_retryable()) {
      spdlog::warn("intake.auth_unavailable reason=\"{}\"", tenant.error().message);
      respond(error_response(unavailable("authentication is temporarily unavailable; retry")));
    } else {
      respond(error_response(unauthorized("invalid API key or secret")));
    }
    return;
  }
  auto body = parse_json_object(request.body);
  if (!body) {
    respond(error_response(body.error()));
    return;
  }
  if (route == Route::kSend) {
    send_.handle(*tenant, *body, std::move(respond));
  } else {
    verify_.handle(*tenant, *body, std::move(respond));
  }
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

}  // namespace otp::intake
