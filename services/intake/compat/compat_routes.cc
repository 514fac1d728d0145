#include "services/intake/compat/compat_routes.h"

#include "services/intake/compat/seed000_handler.h"
#include "services/intake/compat/seed002_handler.h"

#include <spdlog/spdlog.h>

#include <functional>
#include <optional>

namespace otp::intake::compat {
namespace {

/// One seed's way of saying no: status and message -> response.
using Refusal = std::function<HttpResponse(int status, const std::string& message)>;

/// The authentication failure, if any, for a request to a compat route.
std::optional<HttpResponse> refuse_unauthenticated(const HttpRequest& request,
                                                   const Authenticator& authenticator,
                                                   const CompatConfig& config,
                                                   const Refusal& refusal) {
  if (!config.require_auth) return std::nullopt;
  auto tenant = authenticator.authenticate_request(request);
  if (!tenant) {
    if (tenant.error().is_retryable()) {
      spdlog::warn("compat.auth_unavailable reason=\"{}\"", tenant.error().message);
      HttpResponse response = refusal(503, "Service temporarily unavailable");
      response.headers.emplace_back("Retry-After", "1");
      return response;
    }
    HttpResponse response = refusal(401, "Unauthorized");
    response.headers.emplace_back("WWW-Authenticate", kAuthChallenge);
    return response;
  }
  if (tenant->id != config.tenant) return refusal(403, "Forbidden");
  return std::nullopt;
}

template <class Handler>
void add_route(ApiRouter& router, const char* path, Handler& handler,
               void (Handler::*method)(const std::string&, ResponseCallback), Refusal refusal,
               const Authenticator& authenticator, const CompatConfig& config) {
  router.add(
      public_route("POST", path), [&handler, method, refusal = std::move(refusal), &authenticator,
                                   &config](const RouteRequest& request, ResponseCallback respond) {
        if (auto refused = refuse_unauthenticated(request.http, authenticator, config, refusal)) {
          return respond(std::move(*refused));
        }
        (handler.*method)(request.http.body, std::move(respond));
      });
}

}  // namespace

void add_compat_routes(ApiRouter& router, Seed002Handler& seed002, Seed000Handler& seed000,
                       const Authenticator& authenticator, const CompatConfig& config) {
  const Refusal seed002_refusal = [](int status, const std::string& message) {
    return seed002_response(status, message);
  };
  add_route(router, "/api/send-otp", seed002, &Seed002Handler::send, seed002_refusal, authenticator,
            config);
  add_route(router, "/api/verify-otp", seed002, &Seed002Handler::verify, seed002_refusal,
            authenticator, config);
  add_route(router, "/send-otp", seed000, &Seed000Handler::send, Refusal(seed000_failure),
            authenticator, config);
  add_route(router, "/verify-otp", seed000, &Seed000Handler::verify, Refusal(seed000_failure),
            authenticator, config);
}

}  // namespace otp::intake::compat
