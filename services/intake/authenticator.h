#pragma once

#include "common/config/env.h"
#include "common/error/error.h"
#include "services/intake/http_message.h"

#include <optional>
#include <string>

namespace otp::intake {

/// What a client presents: an API key id and its secret.
struct Credentials {
  std::string api_key;
  std::string api_secret;
};

/// What an API key may do. A route names the scope it needs; a key without it gets 403.
enum class Scope : unsigned { kSend = 1U, kVerify = 2U, kRead = 4U };
inline constexpr unsigned kAllScopes = 7U;

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
/// (HTTP Basic and Bearer come with the full auth issue, here.)
[[nodiscard]] std::optional<Credentials> read_credentials(const HttpRequest& request);

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

 private:
  std::string tenant_;
  std::string api_key_;
  std::string secret_digest_;
};

}  // namespace otp::intake
