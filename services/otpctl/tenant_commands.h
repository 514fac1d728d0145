#pragma once

#include "common/error/error.h"
#include "common/pg/pg_connection.h"

#include <map>
#include <string>
#include <vector>

namespace otp::otpctl {

/// Tenant settings flags (`--code-length 8`) -> values, as given on the command line. Every
/// flag names one column of `tenants` (schemas/sql/0001, 0004); the table's CHECK constraints
/// are the rules (a rejected value is kInvalidInput naming the constraint).
using TenantFlags = std::map<std::string, std::string>;

/// The flags `tenant create` and `tenant update` accept, besides `--id`.
[[nodiscard]] const std::vector<std::string>& tenant_setting_flags();

/// Inserts a tenant. `id` must follow the intake's tenant id rule ([A-Za-z0-9._-], 1 to 64
/// characters: ids end up in Kafka keys and HMAC inputs); `flags` must hold `--name`. An
/// existing id is kInvalidInput.
[[nodiscard]] Result<void> create_tenant(pg::PgConnection& db, const std::string& id,
                                         const TenantFlags& flags);

/// Changes the given settings of an existing tenant (kNotFound if there is none). At least one
/// flag is required. The generator picks the change up at its next settings refresh.
[[nodiscard]] Result<void> update_tenant(pg::PgConnection& db, const std::string& id,
                                         const TenantFlags& flags);

/// The tenant's row (every column, including those later migrations add) and its number of
/// usable API keys, as indented JSON; kNotFound if there is no such tenant.
[[nodiscard]] Result<std::string> show_tenant(pg::PgConnection& db, const std::string& id);

/// Whether `id` follows the intake's tenant id rule.
[[nodiscard]] bool is_tenant_id(const std::string& id);

/// `otpctl tenant create|show|update ...`: parses `args` (after `tenant`), connects with
/// OTP_PG_URL, prints the outcome. The process exit code: 0 ok, 1 failure, 2 usage.
[[nodiscard]] int tenant_command(const std::vector<std::string>& args);

}  // namespace otp::otpctl
