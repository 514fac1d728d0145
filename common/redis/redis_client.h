#pragma once

#include "common/config/env.h"
#include "common/error/error.h"
#include "common/redis/redis_reply.h"
#include "common/redis/redis_script.h"

#include <chrono>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace otp::redis {

/// Where and how to reach one Redis server.
struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  /// Sent with AUTH after every (re)connect when not empty.
  config::Secret password;
  std::chrono::milliseconds connect_timeout{500};
  /// Applies to each command's write and read; a command that takes longer fails with
  /// kUnavailable and the connection is dropped (its reply might still arrive later).
  std::chrono::milliseconds command_timeout{500};
};

/// One synchronous connection to Redis (hiredis 0.14, blocking API, RESP2).
///
/// Connects lazily: the first call (or `connect()`) opens the connection, applies the timeouts and
/// authenticates. After any I/O failure or timeout the connection is dropped and the *next* call
/// reconnects, so a process rides out a Redis restart without being restarted itself; the failing
/// call returns kUnavailable and is not retried here (the caller owns retry policy, e.g. the
/// StageRunner's backoff). A command that timed out may still have run on the server: callers
/// must make their writes idempotent (the generator's scripts are keyed by request id).
///
/// Transport failures are `Error`s (kUnavailable); an error *reply* is a value
/// (`RedisReply::error()`), because some are expected (`NOSCRIPT`). `reject_error_reply` and
/// `run_script` turn error replies into Errors. Messages name the command and the server, never
/// the arguments.
///
/// Not thread-safe: use one client per thread. Move-only.
class RedisClient {
 public:
  explicit RedisClient(RedisOptions options);
  ~RedisClient();
  RedisClient(RedisClient&&) noexcept;
  RedisClient& operator=(RedisClient&&) noexcept;
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  /// Opens the connection now if it is not open (startup checks, tests). Idempotent.
  [[nodiscard]] Result<void> connect();
  [[nodiscard]] bool is_connected() const noexcept;
  /// Drops the connection; the next call reconnects.
  void disconnect() noexcept;

  /// Any command, e.g. `command({"SET", key, value, "PX", "1000"})`. Binary-safe arguments.
  [[nodiscard]] Result<RedisReply> command(std::span<const std::string> args);
  [[nodiscard]] Result<RedisReply> command(std::initializer_list<std::string> args);

  /// `EVALSHA sha numkeys keys... args...`; a missing script comes back as a `NOSCRIPT` error
  /// reply.
  [[nodiscard]] Result<RedisReply> eval_sha(std::string_view sha, std::span<const std::string> keys,
                                            std::span<const std::string> args);

  /// Sends every command before reading any reply (hiredis `redisAppendCommandArgv` +
  /// `redisGetReply`): one round trip for the lot. One reply per command, in order; error replies
  /// are values, as with `command`. A transport failure fails the whole call (kUnavailable) and
  /// drops the connection; some of the commands may have run.
  [[nodiscard]] Result<std::vector<RedisReply>> pipeline(
      std::span<const std::vector<std::string>> commands);

  /// The argv of `EVALSHA <script> numkeys keys... args...`, for `pipeline`. A `NOSCRIPT` reply
  /// in a pipeline is the caller's to handle (e.g. `run_script` the command again).
  [[nodiscard]] static std::vector<std::string> eval_sha_command(const RedisScript& script,
                                                                 std::span<const std::string> keys,
                                                                 std::span<const std::string> args);

  /// `SCRIPT LOAD source`: the SHA-1 Redis computed. An error reply becomes an Error.
  [[nodiscard]] Result<std::string> script_load(std::string_view source);

  /// EVALSHA; on `NOSCRIPT` (Redis restarted or `SCRIPT FLUSH`ed) loads the script and retries
  /// once. Error replies become Errors (a failing script is kInternal).
  [[nodiscard]] Result<RedisReply> run_script(const RedisScript& script,
                                              std::span<const std::string> keys,
                                              std::span<const std::string> args);

  [[nodiscard]] const RedisOptions& options() const noexcept { return options_; }

  struct Impl;

 private:
  RedisOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace otp::redis
