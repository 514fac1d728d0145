#pragma once

#include "common/config/env.h"
#include "common/error/error.h"
#include "common/time/clock.h"
#include "services/intake/auth/scopes.h"
#include "services/intake/http_message.h"

#include <optional>
#include <string>
#include <string_view>

namespace otp::intake {

/// What a client presents: an API key id and its secret.
struct Credentials {
  std::string api_key;
  std::string api_secret;
};

/// What an API key may do. A route names the scope it needs; a key without it gets 403.
enum class Scope : unsigned { kSend = 1U, kVerify = 2U, kRead = 4U };
inline constexpr unsigned kAllScopes = 7U;

/// The challenge RFC 9110 (11.6.1) requires on a 401: the schemes the authenticator accepts
/// (api_router.cc and the compat routes answer 401s with it).
inline constexpr char kAuthChallenge[] = R"(Basic realm="otp", Bearer realm="otp")";
static_assert(static_cast<unsigned>(Scope::kSend) == auth::kScopeSend &&
              static_cast<unsigned>(Scope::kVerify) == auth::kScopeVerify &&
              static_cast<unsigned>(Scope::kRead) == auth::kScopeRead &&
              kAllScopes == auth::kScopeAll);

/// Who a request acts for once authenticated: the tenant, the key that authenticated it (empty
/// for the dev key), and the key's scopes.
struct Tenant {
  std::string id;
  std::string key_id;
  unsigned scopes = kAllScopes;

  [[nodiscard]] bool allows(Scope scope) const noexcept {
    return (scopes & static_cast<unsigned>(scope)) != 0U;
  }
};

/// The `X-API-Key` + `X-API-Secret` headers, or nullopt if either is missing or empty.
[[nodiscard]] std::optional<Credentials> read_credentials(const HttpRequest& request);

/// `key:secret` from the base64 text of `Authorization: Basic` (or of a non-JWT Bearer value):
/// strict base64, split at the first ':', both parts non-empty; nullopt otherwise.
[[nodiscard]] std::optional<Credentials> decode_key_secret(std::string_view base64);

/// The `sub` of an access token obtained with the dev key: this prefix + the dev key id. Real key
/// ids (`ak_...`) never contain ':', so the two can never be confused.
inline constexpr std::string_view kDevKeySubjectPrefix = "dev:";

/// Decides which tenant a set of credentials belongs to. The seam between the API and wherever
/// keys live: the dev key from configuration today, PostgreSQL-backed keys later.
///
/// Called on the HTTP io threads for every request, so implementations must answer from memory
/// (a cache) rather than block on a database, and must be thread-safe.
class Authenticator {
 public:
  virtual ~Authenticator() = default;

  /// The tenant, or kInvalidInput for unknown keys and wrong secrets (the API answers 401 and
  /// never says which of the two was wrong), or kUnavailable/kTimeout if the key store cannot be
  /// asked (503).
  [[nodiscard]] virtual Result<Tenant> authenticate(const Credentials& credentials) const = 0;

  /// The tenant behind a request's credentials, whatever their form. Errors: kNotFound when the
  /// request carries no credentials (401), otherwise as `authenticate`. The default reads the
  /// `X-API-Key` + `X-API-Secret` headers.
  [[nodiscard]] virtual Result<Tenant> authenticate_request(const HttpRequest& request) const;
};

/// One key from configuration (OTP_DEV_API_KEY/OTP_DEV_API_SECRET for OTP_DEV_TENANT), for the
/// local stack and tests. Secrets are compared in constant time, and through a hash so that
/// the comparison does not even reveal the secret's length. Immutable, thread-safe.
class DevKeyAuthenticator final : public Authenticator {
 public:
  DevKeyAuthenticator(std::string tenant, std::string api_key, const config::Secret& api_secret);

  [[nodiscard]] Result<Tenant> authenticate(const Credentials& credentials) const override;

  [[nodiscard]] const std::string& tenant() const noexcept { return tenant_; }
  [[nodiscard]] const std::string& api_key() const noexcept { return api_key_; }

 private:
  std::string tenant_;
  std::string api_key_;
  std::string secret_digest_;
};

namespace auth {
class ApiKeyCache;
class AccessTokenCodec;
}  // namespace auth

/// The intake's authenticator: every method of docs/http-api.md "Authentication" against the
/// dev key (if configured), the cached PostgreSQL keys (if configured) and the server's access
/// tokens (if OTP_JWT_KEYS is set).
///
/// A request is read in this order: `X-API-Key` + `X-API-Secret` (if either header is present);
/// else `Authorization: Basic base64(key:secret)`; `Authorization: Bearer <JWT>` (a value with
/// two dots) or `Bearer base64(key:secret)`. No credentials at all is kNotFound; anything
/// malformed, unknown, wrong, expired or revoked is kInvalidInput (401); a database key asked
/// for before the key set was ever loaded is kUnavailable (503). Key secrets are checked in
/// constant time, and an unknown key costs the same hash as a known one.
///
/// A token is accepted only while its key is still in the cached key set (so revocation reaches
/// tokens within the refresh interval too) and still belongs to the token's tenant; its scopes
/// are those of the token narrowed to the key's current ones. Dev-key tokens (`sub` =
/// `dev:<key>`) are accepted while that dev key is configured.
///
/// Holds its sources by pointer (null = not configured); they must outlive it. Thread-safe.
class ApiAuthenticator final : public Authenticator {
 public:
  struct Sources {
    const DevKeyAuthenticator* dev_key = nullptr;
    const auth::ApiKeyCache* keys = nullptr;
    const auth::AccessTokenCodec* tokens = nullptr;
  };

  ApiAuthenticator(Sources sources, const Clock& clock) : sources_(sources), clock_(clock) {}

  [[nodiscard]] Result<Tenant> authenticate(const Credentials& credentials) const override;
  [[nodiscard]] Result<Tenant> authenticate_request(const HttpRequest& request) const override;
  /// A Bearer JWT issued by `POST /oauth/token`.
  [[nodiscard]] Result<Tenant> authenticate_token(std::string_view token) const;

 private:
  Sources sources_;
  const Clock& clock_;
};

}  // namespace otp::intake
