#pragma once

#include "common/time/clock.h"
#include "services/intake/api_router.h"
#include "services/intake/auth/jwt.h"
#include "services/intake/authenticator.h"
#include "services/intake/http_message.h"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace otp::intake::auth {

/// `POST /oauth/token`: the OAuth 2.0 client-credentials grant (RFC 6749 section 4.4) that turns
/// an API key and secret into a short-lived access token (a JWT, auth/jwt.h).
///
/// The body is `application/x-www-form-urlencoded` with `grant_type=client_credentials` and an
/// optional `scope` (space-separated subset of the key's scopes; default all of them). The client
/// authenticates with `Authorization: Basic base64(key:secret)` or with the form parameters
/// `client_id` + `client_secret`, not both. Success: 200
/// `{"access_token","token_type":"Bearer","expires_in","scope"}` with `Cache-Control: no-store`.
/// Errors follow RFC 6749 section 5.2: 400 `invalid_request` (bad form, repeated parameter, two
/// client authentication methods), 401 `invalid_client` (with `WWW-Authenticate: Basic`), 400
/// `unsupported_grant_type`, 400 `invalid_scope`; and 503 `temporarily_unavailable` with
/// Retry-After when the key store has never been loaded.
///
/// Holds its collaborators by reference; thread-safe (answers synchronously from memory).
class OAuthTokenHandler {
 public:
  OAuthTokenHandler(const Authenticator& authenticator, const AccessTokenCodec& tokens,
                    const Clock& clock, std::chrono::seconds ttl)
      : authenticator_(authenticator), tokens_(tokens), clock_(clock), ttl_(ttl) {}

  [[nodiscard]] HttpResponse handle(const HttpRequest& request) const;

 private:
  const Authenticator& authenticator_;
  const AccessTokenCodec& tokens_;
  const Clock& clock_;
  std::chrono::seconds ttl_;
};

/// Registers `POST /oauth/token` as a public route (the handler authenticates the client
/// itself). `handler` must outlive `router`.
void add_oauth_token_route(ApiRouter& router, const OAuthTokenHandler& handler);

/// Decodes an `application/x-www-form-urlencoded` body: `+` is a space, `%XX` a byte, a name
/// without `=` has an empty value. nullopt for a malformed escape and for a name that appears
/// twice (RFC 6749 section 3.2: parameters must not be repeated).
[[nodiscard]] std::optional<std::map<std::string, std::string>> parse_form(std::string_view body);

}  // namespace otp::intake::auth
