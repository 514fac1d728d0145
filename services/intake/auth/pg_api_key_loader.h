#pragma once

#include "common/pg/pg_connection.h"
#include "services/intake/auth/api_key_cache.h"

#include <string>

namespace otp::intake::auth {

/// Reads the usable keys from PostgreSQL `api_keys` (schemas/sql/0001, 0005): rows with no
/// `revoked_at` (or one still in the future). A row the intake cannot use (unknown scope name,
/// tenant id outside the intake's id rule) is skipped with a warning so one bad row never
/// blocks the others; that key then fails as unknown. Holds the connection by reference; not
/// thread-safe (the cache's refresh thread owns it).
class PgApiKeyLoader final : public ApiKeyLoader {
 public:
  explicit PgApiKeyLoader(pg::PgConnection& db) : db_(db) {}

  [[nodiscard]] Result<std::vector<ApiKeyRecord>> load_active() override;

  static const std::string kQuery;

 private:
  pg::PgConnection& db_;
};

}  // namespace otp::intake::auth
