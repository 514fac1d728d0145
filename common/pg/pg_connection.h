#pragma once

#include "common/config/env.h"
#include "common/error/error.h"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace otp::pg {

/// One statement parameter in PostgreSQL's text input syntax (`$1`, `$2`, ...), or SQL NULL.
using Param = std::optional<std::string>;

/// One result row: each column as text, NULL as nullopt, in select-list order.
using Row = std::vector<std::optional<std::string>>;

struct PgOptions {
  /// Shown in pg_stat_activity; identifies the process to operators (and to tests).
  std::string application_name = "otp";
  /// Server-side limit per statement, so a stuck query fails instead of hanging the caller.
  std::chrono::milliseconds statement_timeout{30'000};
  /// libpq's `connect_timeout` (whole seconds, at least 2), unless the URL sets its own: a server
  /// that accepts the connection but never answers fails the call instead of hanging it.
  std::chrono::seconds connect_timeout{5};
};

/// The connection string libpq gets: `url` (a `postgresql://` URL or `key=value` pairs) with
/// `connect_timeout` added, unless it already names one.
[[nodiscard]] std::string with_connect_timeout(std::string_view url, std::chrono::seconds timeout);

/// One open transaction, handed to the body of `PgConnection::transact`. Valid only inside it.
class Transaction {
 public:
  struct Impl;
  explicit Transaction(Impl& impl) : impl_(impl) {}

  /// Runs one statement. Without parameters the text may hold several statements (a migration
  /// file); with parameters it must be exactly one. After a failure the transaction is aborted:
  /// return the error from the body.
  [[nodiscard]] Result<std::vector<Row>> exec(const std::string& sql,
                                              const std::vector<Param>& params = {});

 private:
  Impl& impl_;
};

/// A PostgreSQL connection (libpq through libpqxx, whose types stay in the .cc) that reconnects
/// by itself: a broken connection is dropped and the next call opens a new one.
///
/// Errors are mapped once, here: connection failures, server shutdown (SQLSTATE 57P0x),
/// serialization failures and deadlocks (40001, 40P01) and resource shortages (53xxx) are
/// kUnavailable; a statement timeout (57014) is kTimeout; data errors (22xxx) and constraint
/// violations (23xxx) are kInvalidInput; a missing table or privilege (42xxx) is kPermanent;
/// anything else is kInternal. Messages never contain the connection URL.
///
/// Owned by the composition root (or a test); not thread-safe: one connection per thread.
class PgConnection {
 public:
  /// Does not connect yet; see `connect`. `url` is a libpq connection string or URI.
  PgConnection(config::Secret url, PgOptions options);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  /// Opens the connection now if it is not open (otherwise every call opens it on demand).
  [[nodiscard]] Result<void> connect();

  using Body = std::function<Result<void>(Transaction&)>;

  /// Runs `body` in one transaction and commits it if `body` succeeded; rolls back otherwise.
  /// When a connection that was opened by an earlier call turns out to be dead before the
  /// commit was sent (the server restarted, an idle connection was terminated), it is replaced
  /// and `body` runs once more in a new transaction, so `body` must be safe to rerun from the
  /// start. A connection lost during the commit itself is kUnavailable with "outcome unknown":
  /// the transaction may or may not have been applied.
  [[nodiscard]] Result<void> transact(const Body& body);

  /// Runs statements outside any transaction (autocommit), e.g. CREATE DATABASE. Same
  /// parameter rules as `Transaction::exec`. Never retried.
  [[nodiscard]] Result<std::vector<Row>> exec(const std::string& sql,
                                              const std::vector<Param>& params = {});

  /// Whether a connection is open as far as the client knows (the server may have closed it).
  [[nodiscard]] bool is_connected() const noexcept;

  /// Closes the connection, if any. The next call reconnects.
  void disconnect() noexcept;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace otp::pg
