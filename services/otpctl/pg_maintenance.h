#pragma once

#include "common/error/error.h"
#include "common/pg/pg_connection.h"

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace otp::otpctl {

/// What `migrate` did: the files applied now, in order, and how many were applied before.
struct MigrationSummary {
  std::vector<std::string> applied;
  std::size_t already_applied = 0;
};

/// Applies the migrations `NNNN_<name>.sql` of `dir` in name order, each exactly once, the way
/// scripts/lib/migrate.sh does and sharing its bookkeeping: `schema_migrations(version =
/// file name)`. Each file runs in one transaction with its row there, under a transaction-level
/// advisory lock and after re-checking the row, so concurrent runs (otpctl and the stack script,
/// or two otpctl) apply a file once. Stops at the first failing file (nothing of it is applied);
/// a file name not of the `NNNN_name.sql` form is kInvalidInput before anything runs.
[[nodiscard]] Result<MigrationSummary> migrate(pg::PgConnection& connection,
                                               const std::filesystem::path& dir);

/// What `enforce_retention` did.
struct RetentionSummary {
  std::vector<std::string> dropped;  ///< partitions of otp_events dropped, oldest first
  std::size_t created = 0;           ///< partitions created ahead (this month and the next two)
};

/// Drops the monthly partitions of `otp_events` whose whole month ended more than `age` ago
/// (server clock) and prunes `otp_event_ids` with them (schemas/sql/0002), then makes sure the
/// partitions of this month and the next two exist, so the audit writer rarely creates one. One
/// transaction. The `verifications` projection is kept.
[[nodiscard]] Result<RetentionSummary> enforce_retention(pg::PgConnection& connection,
                                                         std::chrono::days age);

/// What `erase_recipient` changed.
struct EraseSummary {
  std::size_t verifications = 0;
  std::size_t events = 0;
};

/// Removes the identifiers of one recipient of one tenant, for a privacy request: the
/// verifications whose `recipient_hash` is `recipient_hash` and their events keep their counts
/// and outcomes but lose the masked recipient ('[erased]') and the hash (schemas/sql/0003,
/// `otp_erase_recipient`). Idempotent: a second run changes nothing. `tenant` must follow the
/// id rule and `recipient_hash` be non-empty (kInvalidInput otherwise).
[[nodiscard]] Result<EraseSummary> erase_recipient(pg::PgConnection& connection,
                                                   const std::string& tenant,
                                                   const std::string& recipient_hash);

}  // namespace otp::otpctl
