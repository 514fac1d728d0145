#pragma once

#include "common/config/env.h"
#include "common/error/error.h"
#include "common/pg/pg_connection.h"
#include "common/random/rng.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace otp::test {

/// The PostgreSQL server of the local stack, from OTP_TEST_PG_URL; empty when unset (tests then
/// fail with `kMissingPgUrl`).
inline std::string test_pg_url() {
  const char* url = std::getenv("OTP_TEST_PG_URL");
  return url == nullptr ? std::string() : std::string(url);
}

inline constexpr char kMissingPgUrl[] =
    "OTP_TEST_PG_URL is not set: start a stack (scripts/stack up --infra-only) and export "
    "OTP_TEST_PG_URL=postgresql://otp@127.0.0.1:<base+32>/otp";

/// `url` with its database replaced by `database`: a URI's path, or a `dbname=` appended to a
/// keyword/value string (the last keyword wins in libpq).
inline std::string with_database(const std::string& url, const std::string& database) {
  for (const char* scheme : {"postgresql://", "postgres://"}) {
    std::string_view prefix = scheme;
    if (url.rfind(prefix, 0) != 0) continue;
    auto slash = url.find('/', prefix.size());
    auto query = url.find('?', prefix.size());
    if (slash == std::string::npos || (query != std::string::npos && query < slash)) {
      auto end = query == std::string::npos ? url.size() : query;
      return url.substr(0, end) + "/" + database + url.substr(end);
    }
    auto end = query == std::string::npos ? url.size() : query;
    return url.substr(0, slash + 1) + database + url.substr(end);
  }
  return url + " dbname=" + database;
}

/// A throw-away database on the test server with every migration of schemas/sql applied in
/// name order (each in one transaction, as scripts/stack does), dropped again by the destructor.
/// Gives each test its own schema, so tests neither see nor disturb each other's rows.
class TestDatabase {
 public:
  /// `server_url` names any database the role may connect to (it creates databases from there).
  static Result<std::unique_ptr<TestDatabase>> create(const std::string& server_url,
                                                      const std::string& migrations_dir) {
    OpenSslRng rng;
    auto name = "audit_test_" + random_hex(rng, 6);
    auto database = std::unique_ptr<TestDatabase>(new TestDatabase(server_url, name));
    if (auto created = database->admin_.exec("CREATE DATABASE " + name); !created) {
      return tl::unexpected(created.error());
    }
    database->created_ = true;
    pg::PgConnection connection(config::Secret(database->url()), {});
    for (const auto& file : migration_files(migrations_dir)) {
      std::ifstream in(file);
      std::stringstream sql;
      sql << in.rdbuf();
      auto applied = connection.transact([&](pg::Transaction& tx) -> Result<void> {
        return tx.exec(sql.str()).map([](auto&&) {});
      });
      if (!applied) {
        return fail(applied.error().code,
                    file.filename().string() + ": " + applied.error().message);
      }
    }
    return database;
  }

  ~TestDatabase() {
    if (!created_) return;
    // WITH (FORCE) ends connections a test left open (PostgreSQL 13+).
    (void)admin_.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  }
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  [[nodiscard]] std::string url() const { return with_database(server_url_, name_); }
  [[nodiscard]] const std::string& name() const { return name_; }
  /// A connection to the server's original database, for administrative statements.
  [[nodiscard]] pg::PgConnection& admin() { return admin_; }

 private:
  TestDatabase(std::string server_url, std::string name)
      : server_url_(std::move(server_url)),
        name_(std::move(name)),
        admin_(config::Secret(server_url_), {.application_name = "otp-audit-test-admin"}) {}

  static std::vector<std::filesystem::path> migration_files(const std::string& dir) {
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (entry.path().extension() == ".sql") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    return files;
  }

  std::string server_url_;
  std::string name_;
  pg::PgConnection admin_;
  bool created_ = false;
};

}  // namespace otp::test
