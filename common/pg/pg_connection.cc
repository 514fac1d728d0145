#include "common/pg/pg_connection.h"

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <poll.h>
#include <string_view>
#include <utility>

namespace otp::pg {
namespace {

/// A failure as `transact` needs it: the error, and whether the connection is gone with it.
struct Failure {
  Error error;
  bool connection_lost = false;
};

Errc errc_for_sqlstate(std::string_view state) {
  // 08: connection exception; 57P0x: server shutting down or restarting; 53: out of
  // resources (e.g. too many connections); 40001/40P01: serialization failure, deadlock;
  // 55P03: lock not available. All worth retrying as they are.
  if (state.starts_with("08") || state.starts_with("57P") || state.starts_with("53") ||
      state == "40001" || state == "40P01" || state == "55P03") {
    return Errc::kUnavailable;
  }
  if (state == "57014") return Errc::kTimeout;  // statement_timeout
  if (state.starts_with("22") || state.starts_with("23")) return Errc::kInvalidInput;
  // 42: undefined table or column, no privilege (migrations not applied, wrong role);
  // 28: authorization; 3D: no such database. None of them heals by retrying.
  if (state.starts_with("42") || state.starts_with("28") || state.starts_with("3D")) {
    return Errc::kPermanent;
  }
  return Errc::kInternal;
}

/// libpq messages end with a newline and may span lines; log lines must not.
std::string one_line(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) out.push_back(c == '\n' || c == '\r' || c == '\t' ? ' ' : c);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

/// The one place where libpqxx exceptions become errors. Call from inside a catch block.
Failure current_failure(std::string_view what, const pqxx::connection* connection) {
  Failure failure;
  try {
    throw;
  } catch (const pqxx::in_doubt_error& e) {
    failure = {Error{Errc::kUnavailable,
                     std::string(what) +
                         ": connection lost during commit, outcome unknown: " + one_line(e.what())},
               true};
  } catch (const pqxx::broken_connection& e) {
    failure = {Error{Errc::kUnavailable, std::string(what) + ": " + one_line(e.what())}, true};
  } catch (const pqxx::transaction_rollback& e) {
    // libpqxx 6 reports 40001/40P01/40003 with this type and without a SQLSTATE.
    failure = {Error{Errc::kUnavailable, std::string(what) + ": " + one_line(e.what())}, false};
  } catch (const pqxx::sql_error& e) {
    const auto& state = e.sqlstate();
    bool lost = state.starts_with("08") || state.starts_with("57P");
    failure = {Error{errc_for_sqlstate(state),
                     std::string(what) + ": " + one_line(e.what()) + " (SQLSTATE " + state + ")"},
               lost};
  } catch (const std::exception& e) {
    failure = {Error{Errc::kInternal, std::string(what) + ": " + one_line(e.what())}, false};
  }
  if (connection != nullptr && !connection->is_open()) failure.connection_lost = true;
  return failure;
}

/// Listens to the server's notices on one connection. A server ending the session
/// (restart, pg_terminate_backend) first sends a FATAL message; libpq, seeing it while idle,
/// hands it over as a notice and still calls the connection open.
class GoodbyeListener final : public pqxx::errorhandler {
 public:
  explicit GoodbyeListener(pqxx::connection_base& connection) : pqxx::errorhandler(connection) {}

  bool operator()(const char message[]) noexcept override {
    if (std::string_view(message).starts_with("FATAL")) said_goodbye = true;
    return true;  // let other handlers see it too
  }

  bool said_goodbye = false;
};

}  // namespace

std::string with_connect_timeout(std::string_view url, std::chrono::seconds timeout) {
  std::string out(url);
  if (out.find("connect_timeout=") != std::string::npos) return out;
  const auto seconds = std::to_string(std::max<std::int64_t>(2, timeout.count()));
  if (out.starts_with("postgresql://") || out.starts_with("postgres://")) {
    // Query parameters go before a fragment; libpq URLs have none, so appending is enough.
    out += (out.find('?') == std::string::npos ? "?" : "&");
    out += "connect_timeout=" + seconds;
  } else {
    out += (out.empty() ? "" : " ");
    out += "connect_timeout=" + seconds;
  }
  return out;
}

namespace {

/// One libpqxx connection and its listener (declared after it: destroyed before it).
struct Session {
  explicit Session(const std::string& url) : connection(url) {}

  pqxx::connection connection;
  GoodbyeListener listener{connection};
};

/// Whether an idle session is still usable, found without a round trip by reading what the
/// server sent meanwhile: its goodbye, the end of the stream. This matters beyond saving a
/// failed statement: libpqxx 6.4 leaks the result of a statement sent on a dead connection.
bool still_alive(Session& session) {
  // A few rounds: the goodbye and the end of the stream may arrive as separate reads.
  for (int round = 0; round < 4 && session.connection.is_open(); ++round) {
    if (session.listener.said_goodbye) return false;
    pollfd socket{session.connection.sock(), POLLIN, 0};
    if (::poll(&socket, 1, 0) <= 0) return true;  // nothing pending: as alive as we can tell
    if ((socket.revents & (POLLERR | POLLNVAL)) != 0) return false;
    try {
      session.connection.get_notifs();
    } catch (const pqxx::broken_connection&) {
      return false;
    }
  }
  return session.connection.is_open() && !session.listener.said_goodbye;
}

std::vector<Row> rows_of(const pqxx::result& result) {
  std::vector<Row> rows;
  rows.reserve(result.size());
  for (const auto& tuple : result) {
    Row row;
    row.reserve(tuple.size());
    for (const auto& field : tuple) {
      if (field.is_null()) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::string(field.c_str(), field.size()));
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

pqxx::result run_statement(pqxx::transaction_base& tx, const std::string& sql,
                           const std::vector<Param>& params) {
  // Without parameters, libpq's simple protocol accepts several statements (migration files).
  if (params.empty()) return tx.exec(sql);
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& param : params) values.push_back(param ? param->c_str() : nullptr);
  return tx.exec_params(sql, pqxx::prepare::make_dynamic_params(values));
}

}  // namespace

struct Transaction::Impl {
  pqxx::transaction_base& tx;
  const pqxx::connection* connection;
  std::optional<Failure> failure;
};

Result<std::vector<Row>> Transaction::exec(const std::string& sql,
                                           const std::vector<Param>& params) {
  if (impl_.failure) return tl::unexpected(impl_.failure->error);  // aborted: nothing more runs
  try {
    return rows_of(run_statement(impl_.tx, sql, params));
  } catch (const std::exception&) {
    impl_.failure = current_failure("pg statement", impl_.connection);
    return tl::unexpected(impl_.failure->error);
  }
}

struct PgConnection::Impl {
  config::Secret url;
  PgOptions options;
  std::unique_ptr<Session> session;

  /// What one attempt of `transact` came to.
  struct Attempt {
    Result<void> result;
    bool connection_lost = false;
    bool commit_sent = false;
  };

  [[nodiscard]] bool is_open() const { return session && session->connection.is_open(); }

  Result<void> open() {
    if (is_open() && still_alive(*session)) return {};
    session.reset();
    try {
      auto fresh =
          std::make_unique<Session>(with_connect_timeout(url.reveal(), options.connect_timeout));
      auto& connection = fresh->connection;
      // set_variable (not a raw SET) so that libpqxx restores them if it ever reconnects itself.
      connection.set_variable("application_name", connection.quote(options.application_name));
      connection.set_variable("statement_timeout",
                              std::to_string(options.statement_timeout.count()));
      spdlog::debug("pg.connected application={} backend_pid={}", options.application_name,
                    connection.backendpid());
      session = std::move(fresh);
      return {};
    } catch (const std::exception&) {
      return tl::unexpected(current_failure("pg connect", nullptr).error);
    }
  }

  Attempt run(const Body& body) {
    auto& connection = session->connection;
    bool commit_sent = false;
    try {
      pqxx::work work(connection);
      Transaction::Impl tx_impl{work, &connection, std::nullopt};
      Transaction tx(tx_impl);
      auto result = body(tx);
      if (!result) {
        // The work's destructor rolls back (quietly, if the connection is gone).
        return {result, tx_impl.failure && tx_impl.failure->connection_lost, false};
      }
      commit_sent = true;
      work.commit();
      return {{}, false, true};
    } catch (const std::exception&) {
      auto failure = current_failure(commit_sent ? "pg commit" : "pg transaction", &connection);
      return {tl::unexpected(failure.error), failure.connection_lost, commit_sent};
    }
  }
};

PgConnection::PgConnection(config::Secret url, PgOptions options)
    : impl_(std::make_unique<Impl>(Impl{std::move(url), std::move(options), nullptr})) {}

PgConnection::~PgConnection() = default;

Result<void> PgConnection::connect() { return impl_->open(); }

Result<void> PgConnection::transact(const Body& body) {
  for (int attempt = 0;; ++attempt) {
    bool reused = impl_->is_open();
    if (auto opened = impl_->open(); !opened) return opened;
    auto outcome = impl_->run(body);
    if (outcome.result) return {};
    if (outcome.connection_lost) impl_->session.reset();
    // A connection that died while idle, unnoticed, fails on its first statement: nothing was
    // applied, so one immediate rerun on a new connection is safe and spares the caller a
    // backoff.
    if (outcome.connection_lost && reused && !outcome.commit_sent && attempt == 0) {
      spdlog::info("pg.reconnecting application={} reason=\"{}\"", impl_->options.application_name,
                   outcome.result.error().message);
      continue;
    }
    return outcome.result;
  }
}

Result<std::vector<Row>> PgConnection::exec(const std::string& sql,
                                            const std::vector<Param>& params) {
  if (auto opened = impl_->open(); !opened) return tl::unexpected(opened.error());
  auto& connection = impl_->session->connection;
  try {
    pqxx::nontransaction tx(connection);
    return rows_of(run_statement(tx, sql, params));
  } catch (const std::exception&) {
    auto failure = current_failure("pg statement", &connection);
    if (failure.connection_lost) impl_->session.reset();
    return tl::unexpected(failure.error);
  }
}

bool PgConnection::is_connected() const noexcept { return impl_->is_open(); }

void PgConnection::disconnect() noexcept { impl_->session.reset(); }

}  // namespace otp::pg
