#include "services/intake/auth/pg_api_key_loader.h"

#include "services/intake/auth/scopes.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace otp::intake::auth {
namespace {

// The intake's tenant id rule (intake_config.cc): stricter than the table's, because tenant ids
// end up in `tenant:recipient` Kafka keys and `|`-joined HMAC inputs.
bool is_intake_tenant_id(const std::string& id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

}  // namespace

// Scopes come back comma-joined (their names are plain words), so no text[] literal parser is
// needed.
const std::string PgApiKeyLoader::kQuery =
    "SELECT id, tenant_id, secret_hash, array_to_string(scopes, ',') FROM api_keys "
    "WHERE revoked_at IS NULL OR revoked_at > now()";

Result<std::vector<ApiKeyRecord>> PgApiKeyLoader::load_active() {
  std::vector<ApiKeyRecord> records;
  auto done = db_.transact([&](pg::Transaction& tx) -> Result<void> {
    records.clear();
    auto rows = tx.exec(kQuery);
    if (!rows) return tl::unexpected(rows.error());
    records.reserve(rows->size());
    for (const auto& row : *rows) {
      if (row.size() != 4 || !row[0] || !row[1] || !row[2] || !row[3]) continue;
      const std::string& id = *row[0];
      auto scopes = parse_scopes(*row[3], ',');
      if (!scopes || !is_intake_tenant_id(*row[1])) {
        spdlog::warn("intake.api_key_skipped key_id={} reason=\"{}\"", id,
                     scopes ? "tenant id not usable by the intake" : scopes.error().message);
        continue;
      }
      records.push_back(
          ApiKeyRecord{.id = id, .tenant = *row[1], .secret_hash = *row[2], .scopes = *scopes});
    }
    return {};
  });
  if (!done) return tl::unexpected(done.error());
  return records;
}

}  // namespace otp::intake::auth
