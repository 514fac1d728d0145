#pragma once

#include "common/error/error.h"
#include "common/pg/pg_connection.h"
#include "common/random/rng.h"
#include "services/intake/auth/api_key_secret.h"

#include <optional>
#include <string>
#include <vector>

namespace otp::otpctl {

/// One API key as `key list` shows it: never the secret, nor its hash.
struct ApiKeyInfo {
  std::string id;
  std::string scopes;  ///< comma-separated
  std::string label;
  std::string created_at;
  std::optional<std::string> revoked_at;
};

/// Creates a key for an existing tenant (kNotFound otherwise) with `scopes` (auth/scopes.h
/// bits, at least one) and stores only the hash of its secret. The returned secret is the only
/// copy there will ever be.
[[nodiscard]] Result<intake::auth::NewApiKey> create_key(pg::PgConnection& db, Rng& rng,
                                                         const std::string& tenant, unsigned scopes,
                                                         const std::string& label);

/// The tenant's keys, newest first, revoked ones included.
[[nodiscard]] Result<std::vector<ApiKeyInfo>> list_keys(pg::PgConnection& db,
                                                        const std::string& tenant);

/// What `revoke_key` did.
enum class Revocation { kRevoked, kAlreadyRevoked };

/// Marks a key revoked now (kNotFound if there is no such key). Running intakes stop accepting
/// it, and every access token obtained with it, at their next key refresh.
[[nodiscard]] Result<Revocation> revoke_key(pg::PgConnection& db, const std::string& id);

/// `otpctl key create|list|revoke ...`: parses `args` (after `key`), connects with OTP_PG_URL,
/// prints the outcome. The process exit code: 0 ok, 1 failure, 2 usage.
[[nodiscard]] int key_command(const std::vector<std::string>& args);

}  // namespace otp::otpctl
