#pragma once

// A private PostgreSQL 15 cluster for fault tests that stop the server (`pg_ctl stop -m
// immediate`): initdb into a temporary folder, started on a free loopback port, removed by the
// destructor. The shared stack's server is never stopped, so other suites running at the same
// time are not disturbed. As root, the server runs as the `postgres` user (it refuses root).

#include "common/error/error.h"
#include "tests/support/stack_env.h"

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>

namespace otp::test {

class PrivatePostgres {
 public:
  static Result<std::unique_ptr<PrivatePostgres>> start() {
    const char* bin = std::getenv("OTP_PG_BIN");
    std::string pg_bin = bin != nullptr && *bin != '\0' ? bin : "/usr/lib/postgresql/15/bin";
    char pattern[] = "/tmp/otp-audit-pg-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) return fail(Errc::kInternal, "mkdtemp failed");
    auto pg = std::unique_ptr<PrivatePostgres>(new PrivatePostgres(pg_bin, pattern));
    pg->port_ = free_loopback_port();
    if (::geteuid() == 0 && pg->run("chown postgres:postgres " + pg->dir_, false) != 0) {
      return fail(Errc::kInternal, "cannot chown " + pg->dir_);
    }
    if (pg->run(pg_bin + "/initdb -D " + pg->data() + " -U otp --auth=trust -E UTF8 >" + pg->dir_ +
                "/initdb.log 2>&1") != 0) {
      return fail(Errc::kUnavailable, "initdb failed, see " + pg->dir_ + "/initdb.log");
    }
    if (auto started = pg->start_server(); !started) return tl::unexpected(started.error());
    return pg;
  }

  ~PrivatePostgres() {
    (void)run(pg_bin_ + "/pg_ctl -D " + data() + " -m immediate -w stop >/dev/null 2>&1");
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  PrivatePostgres(const PrivatePostgres&) = delete;
  PrivatePostgres& operator=(const PrivatePostgres&) = delete;

  /// The `postgres` database, for TestDatabase::create.
  [[nodiscard]] std::string url() const {
    return "postgresql://otp@127.0.0.1:" + std::to_string(port_) + "/postgres?connect_timeout=3";
  }

  /// `pg_ctl stop -m immediate`: every backend dies at once, no checkpoint; the next start
  /// runs crash recovery from the WAL.
  Result<void> stop_immediate() {
    if (run(pg_bin_ + "/pg_ctl -D " + data() + " -m immediate -w stop >>" + dir_ +
            "/pg_ctl.log 2>&1") != 0) {
      return fail(Errc::kInternal, "pg_ctl stop -m immediate failed");
    }
    return {};
  }

  Result<void> start_server() {
    if (run(pg_bin_ + "/pg_ctl -D " + data() + " -l " + dir_ + "/server.log -w -t 60 -o \"-p " +
            std::to_string(port_) + " -k " + dir_ + " -c listen_addresses=127.0.0.1\" start >>" +
            dir_ + "/pg_ctl.log 2>&1") != 0) {
      return fail(Errc::kUnavailable, "pg_ctl start failed, see " + dir_ + "/server.log");
    }
    return {};
  }

 private:
  PrivatePostgres(std::string pg_bin, std::string dir)
      : pg_bin_(std::move(pg_bin)), dir_(std::move(dir)) {}

  [[nodiscard]] std::string data() const { return dir_ + "/data"; }

  /// Runs `command` through the shell, as `postgres` when we are root (unless `as_pg` is false).
  int run(const std::string& command, bool as_pg = true) const {
    std::string line =
        ::geteuid() == 0 && as_pg ? "runuser -u postgres -- sh -c '" + command + "'" : command;
    return std::system(line.c_str());
  }

  std::string pg_bin_;
  std::string dir_;
  int port_ = 0;
};

}  // namespace otp::test
