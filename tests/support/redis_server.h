#pragma once

#include "common/error/error.h"
#include "tests/support/stack_env.h"
#include "tests/support/subprocess.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <system_error>
#include <unistd.h>
#include <utility>
#include <vector>

namespace otp::test {

/// A private `redis-server` for tests that kill, stop or restart Redis. Never use the shared test
/// Redis for that: the rest of the suite depends on it.
///
/// `start` picks a free loopback port and a fresh temporary directory, and runs
/// `redis-server --port <port> --bind 127.0.0.1 --dir <dir> --save "" --appendonly no <flags...>`
/// (later flags override earlier ones, so `{"--appendonly", "yes"}` turns AOF on). It returns once
/// the server logs "Ready to accept connections". Its log goes to `<dir>/redis.log`.
/// `restart` starts it again on the same port and directory with the same flags, so whatever it
/// persisted there (AOF, RDB) is loaded. The destructor stops the server and removes the
/// directory.
///
///   auto redis = RedisServer::start({"--appendonly", "yes", "--appendfsync", "everysec"});
///   ASSERT_TRUE(redis.has_value()) << redis.error().message;
///   (*redis)->kill9();
///   ASSERT_TRUE((*redis)->restart().has_value());
class RedisServer {
 public:
  [[nodiscard]] static Result<std::unique_ptr<RedisServer>> start(
      std::vector<std::string> flags,
      std::chrono::milliseconds ready_timeout = std::chrono::seconds(20)) {
    std::string pattern = (std::filesystem::temp_directory_path() / "otp-redis-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      return fail(Errc::kUnavailable, "redis_server: mkdtemp failed");
    }
    auto server = std::unique_ptr<RedisServer>(
        new RedisServer(pattern, free_loopback_port(), std::move(flags), ready_timeout));
    auto started = server->restart();
    if (!started) return tl::unexpected(started.error());
    return server;
  }

  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;
  RedisServer(RedisServer&&) = delete;
  RedisServer& operator=(RedisServer&&) = delete;

  ~RedisServer() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  /// Starts the server (again) on the same port and directory. The previous process, if any,
  /// must have been stopped or killed.
  [[nodiscard]] Result<void> restart() {
    process_.reset();
    std::vector<std::string> argv = {"redis-server",
                                     "--port",
                                     std::to_string(port_),
                                     "--bind",
                                     "127.0.0.1",
                                     "--dir",
                                     dir_.string(),
                                     "--save",
                                     "",
                                     "--appendonly",
                                     "no",
                                     "--daemonize",
                                     "no",
                                     "--protected-mode",
                                     "no"};
    argv.insert(argv.end(), flags_.begin(), flags_.end());
    auto process = Subprocess::start(std::move(argv), {}, (dir_ / "redis.log").string());
    if (!process) return tl::unexpected(process.error());
    process_ = std::make_unique<Subprocess>(std::move(*process));
    const auto deadline = std::chrono::steady_clock::now() + ready_timeout_;
    while (std::chrono::steady_clock::now() < deadline) {
      auto line = process_->read_line(std::chrono::milliseconds(200));
      if (line && line->find("Ready to accept connections") != std::string::npos) return {};
      if (!line && !process_->running()) break;
    }
    process_.reset();
    return fail(Errc::kUnavailable, "redis_server: not ready on port " + std::to_string(port_) +
                                        "; log in " + (dir_ / "redis.log").string());
  }

  /// SIGKILL: no shutdown save, no final fsync. Only what was already on disk survives.
  void kill9() {
    if (process_) process_->kill9();
    process_.reset();
  }

  /// SIGTERM and wait: Redis shuts down cleanly (fsyncs the AOF if enabled).
  void stop() {
    if (process_) process_->terminate(std::chrono::seconds(10));
    process_.reset();
  }

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }
  [[nodiscard]] bool running() const { return process_ && process_->running(); }

 private:
  RedisServer(std::filesystem::path dir, int port, std::vector<std::string> flags,
              std::chrono::milliseconds ready_timeout)
      : dir_(std::move(dir)),
        port_(port),
        flags_(std::move(flags)),
        ready_timeout_(ready_timeout) {}

  std::filesystem::path dir_;
  int port_;
  std::vector<std::string> flags_;
  std::chrono::milliseconds ready_timeout_;
  std::unique_ptr<Subprocess> process_;
};

}  // namespace otp::test
