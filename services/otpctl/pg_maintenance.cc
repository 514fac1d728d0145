#include "services/otpctl/pg_maintenance.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <regex>
#include <sstream>

namespace otp::otpctl {
namespace {

// The same key for every migrator of this database, whatever the file.
constexpr char kLockMigrations[] = "SELECT pg_advisory_xact_lock(hashtext('schema_migrations'))";

constexpr char kCreateBookkeeping[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version text PRIMARY KEY, applied_at timestamptz DEFAULT now())";

// migrate.sh's glob, [0-9][0-9][0-9][0-9]_*.sql: other files in the folder are not migrations.
bool matches_migration_glob(const std::string& name) {
  auto is_digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
  return name.size() >= 9 && std::all_of(name.begin(), name.begin() + 4, is_digit) &&
         name[4] == '_' && name.compare(name.size() - 4, 4, ".sql") == 0;
}

Result<std::vector<std::filesystem::path>> migration_files(const std::filesystem::path& dir) {
  static const std::regex kName(R"(^[0-9]{4}_[A-Za-z0-9_.-]+\.sql$)");
  std::error_code error;
  std::vector<std::filesystem::path> files;
  for (std::filesystem::directory_iterator it(dir, error), end; !error && it != end;
       it.increment(error)) {
    auto name = it->path().filename().string();
    if (!matches_migration_glob(name)) continue;
    if (!std::regex_match(name, kName)) {
      return fail(Errc::kInvalidInput,
                  "migrations: unexpected file name " + name + " (want NNNN_name.sql)");
    }
    files.push_back(it->path());
  }
  if (error) {
    return fail(Errc::kInvalidInput,
                "migrations: cannot read " + dir.string() + ": " + error.message());
  }
  std::sort(files.begin(), files.end());
  return files;
}

Result<std::string> read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail(Errc::kInvalidInput, "migrations: cannot read " + file.string());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::size_t count_of(const std::optional<std::string>& text) {
  return text ? static_cast<std::size_t>(std::stoull(*text)) : 0;
}

bool is_valid_tenant(const std::string& tenant) {
  static const std::regex kTenant(R"(^[A-Za-z0-9._:-]{1,128}$)");
  return std::regex_match(tenant, kTenant);
}

}  // namespace

Result<MigrationSummary> migrate(pg::PgConnection& connection, const std::filesystem::path& dir) {
  auto files = migration_files(dir);
  if (!files) return tl::unexpected(files.error());
  if (auto created = connection.exec(kCreateBookkeeping); !created) {
    return tl::unexpected(created.error());
  }
  MigrationSummary summary;
  for (const auto& file : *files) {
    auto version = file.filename().string();
    auto sql = read_file(file);
    if (!sql) return tl::unexpected(sql.error());
    bool applied_now = false;
    auto done = connection.transact([&](pg::Transaction& tx) -> Result<void> {
      applied_now = false;
      if (auto locked = tx.exec(kLockMigrations); !locked) return tl::unexpected(locked.error());
      auto seen = tx.exec("SELECT 1 FROM schema_migrations WHERE version = $1", {version});
      if (!seen) return tl::unexpected(seen.error());
      if (!seen->empty()) return {};
      if (auto ran = tx.exec(*sql); !ran) {
        return fail(ran.error().code, "migrations: " + version +
                                          " failed, nothing of it was "
                                          "applied: " +
                                          ran.error().message);
      }
      auto recorded = tx.exec("INSERT INTO schema_migrations (version) VALUES ($1)", {version});
      if (!recorded) return tl::unexpected(recorded.error());
      applied_now = true;
      return {};
    });
    if (!done) return tl::unexpected(done.error());
    if (applied_now) {
      summary.applied.push_back(version);
    } else {
      ++summary.already_applied;
    }
  }
  return summary;
}

Result<RetentionSummary> enforce_retention(pg::PgConnection& connection, std::chrono::days age) {
  RetentionSummary summary;
  auto done = connection.transact([&](pg::Transaction& tx) -> Result<void> {
    summary = RetentionSummary{};
    auto dropped = tx.exec("SELECT otp_drop_event_partitions(now() - make_interval(days => $1))",
                           {std::to_string(age.count())});
    if (!dropped) return tl::unexpected(dropped.error());
    for (const auto& row : *dropped) {
      if (!row.empty() && row[0]) summary.dropped.push_back(*row[0]);
    }
    auto created =
        tx.exec("SELECT otp_ensure_event_partitions(now(), now() + interval '2 months')");
    if (!created) return tl::unexpected(created.error());
    if (created->size() == 1 && !created->front().empty()) {
      summary.created = count_of(created->front()[0]);
    }
    return {};
  });
  if (!done) return tl::unexpected(done.error());
  return summary;
}

Result<EraseSummary> erase_recipient(pg::PgConnection& connection, const std::string& tenant,
                                     const std::string& recipient_hash) {
  if (!is_valid_tenant(tenant)) return fail(Errc::kInvalidInput, "erase: invalid tenant id");
  if (recipient_hash.empty()) return fail(Errc::kInvalidInput, "erase: empty recipient hash");
  EraseSummary summary;
  auto done = connection.transact([&](pg::Transaction& tx) -> Result<void> {
    auto erased =
        tx.exec("SELECT verifications_erased, events_erased FROM otp_erase_recipient($1, $2)",
                {tenant, recipient_hash});
    if (!erased) return tl::unexpected(erased.error());
    if (erased->size() != 1 || erased->front().size() != 2) {
      return fail(Errc::kInternal, "erase: unexpected result shape");
    }
    summary.verifications = count_of(erased->front()[0]);
    summary.events = count_of(erased->front()[1]);
    return {};
  });
  if (!done) return tl::unexpected(done.error());
  return summary;
}

}  // namespace otp::otpctl
