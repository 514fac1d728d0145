#pragma once

#include "common/error/error.h"
#include "common/pg/pg_connection.h"
#include "services/generator/tenant_settings.h"

#include <string>

namespace otp::generator {

/// Reads every tenant's settings from the PostgreSQL `tenants` table (schemas/sql/0004) in one
/// query: the loader behind `CachedTenantSettings`.
///
/// A row whose values the generator cannot use (the table's CHECK constraints should make that
/// impossible) is skipped with a warning, so one bad row never blocks the other tenants; that
/// tenant then answers "unknown tenant". Holds the connection by reference; not thread-safe.
class PgTenantSettingsLoader {
 public:
  explicit PgTenantSettingsLoader(pg::PgConnection& db) : db_(db) {}

  [[nodiscard]] Result<TenantSettingsMap> load_all();

  /// The SELECT `load_all` runs; its columns are what `parse_row` expects.
  static const std::string kQuery;

  /// One row of `kQuery` -> (tenant id, settings); kInvalidInput naming the bad column.
  [[nodiscard]] static Result<std::pair<std::string, TenantSettings>> parse_row(const pg::Row& row);

 private:
  pg::PgConnection& db_;
};

}  // namespace otp::generator
