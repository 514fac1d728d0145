#include "services/intake/cors.h"

#include <algorithm>

namespace otp::intake {
namespace {

constexpr char kAllowMethods[] = "GET, POST, OPTIONS";
constexpr char kAllowHeaders[] =
    "Authorization, Content-Type, Idempotency-Key, X-API-Key, X-API-Secret";
constexpr char kExposeHeaders[] =
    "RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Retry-After";
constexpr char kMaxAgeSeconds[] = "600";

}  // namespace

Cors::Cors(std::vector<std::string> allowed_origins) : allowed_(std::move(allowed_origins)) {}

bool Cors::allows(std::string_view origin) const {
  return std::find(allowed_.begin(), allowed_.end(), origin) != allowed_.end();
}

void Cors::handle(const HttpRequest& request, ResponseCallback respond, const Next& next) const {
  auto origin_header = request.header("Origin");
  if (!origin_header) {
    next(request, std::move(respond));
    return;
  }
  std::string origin(*origin_header);
  if (!allows(origin)) {
    next(request, [respond = std::move(respond)](HttpResponse response) {
      response.headers.emplace_back("Vary", "Origin");
      respond(std::move(response));
    });
    return;
  }
  if (request.method == "OPTIONS" && request.header("Access-Control-Request-Method")) {
    HttpResponse response;
    response.status = 204;
    response.headers = {{"Access-Control-Allow-Origin", origin},
                        {"Access-Control-Allow-Methods", kAllowMethods},
                        {"Access-Control-Allow-Headers", kAllowHeaders},
                        {"Access-Control-Max-Age", kMaxAgeSeconds},
                        {"Vary", "Origin"}};
    respond(std::move(response));
    return;
  }
  next(request, [respond = std::move(respond), origin = std::move(origin)](HttpResponse response) {
    response.headers.emplace_back("Access-Control-Allow-Origin", origin);
    response.headers.emplace_back("Access-Control-Expose-Headers", kExposeHeaders);
    response.headers.emplace_back("Vary", "Origin");
    respond(std::move(response));
  });
}

}  // namespace otp::intake
