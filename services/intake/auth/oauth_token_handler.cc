#include "services/intake/auth/oauth_token_handler.h"

#include "services/intake/api_response.h"
#include "services/intake/auth/scopes.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

namespace otp::intake::auth {
namespace {

using nlohmann::ordered_json;

HttpResponse oauth_error(int status, std::string_view error, std::string_view description) {
  ordered_json body = ordered_json::object();
  body["error"] = error;
  body["error_description"] = description;
  HttpResponse response = json_response(status, body);
  response.headers.emplace_back("Pragma", "no-cache");
  if (status == 401) response.headers.emplace_back("WWW-Authenticate", "Basic realm=\"otp\"");
  if (status == 503) response.headers.emplace_back("Retry-After", "1");
  return response;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> form_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int high = hex_value(text[i + 1]);
      const int low = hex_value(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

bool is_form_content_type(std::optional<std::string_view> value) {
  if (!value) return false;
  std::string media(value->substr(0, value->find(';')));
  media.erase(media.find_last_not_of(" \t") + 1);
  std::transform(media.begin(), media.end(), media.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return media == "application/x-www-form-urlencoded";
}

}  // namespace

std::optional<std::map<std::string, std::string>> parse_form(std::string_view body) {
  std::map<std::string, std::string> values;
  while (!body.empty()) {
    const auto end = body.find('&');
    const std::string_view pair = body.substr(0, end);
    body = end == std::string_view::npos ? std::string_view() : body.substr(end + 1);
    if (pair.empty()) continue;
    const auto equals = pair.find('=');
    auto name = form_decode(pair.substr(0, equals));
    auto value = form_decode(equals == std::string_view::npos ? std::string_view()
                                                              : pair.substr(equals + 1));
    if (!name || !value) return std::nullopt;
    if (!values.emplace(std::move(*name), std::move(*value)).second) return std::nullopt;
  }
  return values;
}

HttpResponse OAuthTokenHandler::handle(const HttpRequest& request) const {
  if (!is_form_content_type(request.header("Content-Type"))) {
    return oauth_error(400, "invalid_request",
                       "the body must be application/x-www-form-urlencoded");
  }
  auto form = parse_form(request.body);
  if (!form) {
    return oauth_error(400, "invalid_request", "malformed form body or a repeated parameter");
  }
  const auto param = [&form](const char* name) -> std::optional<std::string> {
    auto it = form->find(name);
    if (it == form->end()) return std::nullopt;
    return it->second;
  };

  // Client authentication: exactly one method (RFC 6749 section 2.3).
  const bool form_credentials = form->contains("client_id") || form->contains("client_secret");
  const auto authorization = request.header("Authorization");
  if (form_credentials && authorization) {
    return oauth_error(400, "invalid_request", "use one client authentication method, not two");
  }
  std::optional<Credentials> credentials;
  if (authorization) {
    std::string_view value = *authorization;
    value.remove_prefix(std::min(value.find_first_not_of(' '), value.size()));
    const auto space = value.find(' ');
    std::string scheme(value.substr(0, space));
    std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (scheme == "basic" && space != std::string_view::npos) {
      std::string_view encoded = value.substr(space + 1);
      encoded.remove_prefix(std::min(encoded.find_first_not_of(' '), encoded.size()));
      encoded = encoded.substr(0, encoded.find_last_not_of(" \t") + 1);
      credentials = decode_key_secret(encoded);
    }
  } else if (form_credentials) {
    auto id = param("client_id");
    auto secret = param("client_secret");
    if (id && secret && !id->empty() && !secret->empty()) {
      credentials = Credentials{.api_key = std::move(*id), .api_secret = std::move(*secret)};
    }
  }
  if (!credentials) return oauth_error(401, "invalid_client", "client authentication failed");
  auto tenant = authenticator_.authenticate(*credentials);
  if (!tenant) {
    if (tenant.error().is_retryable()) {
      spdlog::warn("intake.oauth_unavailable reason=\"{}\"", tenant.error().message);
      return oauth_error(503, "temporarily_unavailable",
                         "authentication is temporarily unavailable; retry");
    }
    return oauth_error(401, "invalid_client", "client authentication failed");
  }

  const auto grant_type = param("grant_type");
  if (!grant_type) return oauth_error(400, "invalid_request", "grant_type is required");
  if (*grant_type != "client_credentials") {
    return oauth_error(400, "unsupported_grant_type", "only client_credentials is supported");
  }
  unsigned scopes = tenant->scopes & kScopeAll;
  if (auto requested = param("scope")) {
    auto parsed = parse_scopes(*requested, ' ');
    if (!parsed || (*parsed & ~scopes) != 0U) {
      return oauth_error(400, "invalid_scope", "scope must be a subset of the key's scopes");
    }
    if (*parsed != 0U) scopes = *parsed;
  }

  const TimePoint now = clock_.now();
  AccessTokenClaims claims{
      .tenant = tenant->id,
      .key_id = tenant->key_id.empty() ? std::string(kDevKeySubjectPrefix) + credentials->api_key
                                       : tenant->key_id,
      .scopes = scopes,
      .issued_at = now,
      .expires_at = now + ttl_,
  };
  ordered_json body = ordered_json::object();
  body["access_token"] = tokens_.sign(claims);
  body["token_type"] = "Bearer";
  body["expires_in"] = ttl_.count();
  body["scope"] = format_scopes(scopes, ' ');
  HttpResponse response = json_response(200, body);
  response.headers.emplace_back("Pragma", "no-cache");
  spdlog::info("intake.token_issued tenant={} key_id={} expires_in={}", claims.tenant,
               claims.key_id, ttl_.count());
  return response;
}

void add_oauth_token_route(ApiRouter& router, const OAuthTokenHandler& handler) {
  router.add(public_route("POST", "/oauth/token"),
             [&handler](const RouteRequest& request, const ResponseCallback& respond) {
               respond(handler.handle(request.http));
             });
}

}  // namespace otp::intake::auth
