#pragma once

#include "common/redis/redis_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <unistd.h>

namespace otp::generator::testing {

/// An address of the local stack from the environment. Unset is a test *failure*, never a skip:
/// a suite that silently skips would pass CI without testing anything.
inline std::optional<std::string> stack_env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    ADD_FAILURE() << name
                  << " is not set. Start a stack and export its addresses, e.g.\n"
                     "  OTP_STACK_DIR=.state/me OTP_PORT_BASE=31000 scripts/stack up "
                     "--infra-only --no-build\n"
                     "  eval \"$(OTP_STACK_DIR=.state/me OTP_PORT_BASE=31000 scripts/stack env "
                     "--test)\"";
    return std::nullopt;
  }
  return std::string(value);
}

/// Redis options from OTP_TEST_REDIS_HOST / OTP_TEST_REDIS_PORT; nullopt (with a failure) if unset.
inline std::optional<redis::RedisOptions> redis_options_from_env() {
  auto host = stack_env("OTP_TEST_REDIS_HOST");
  auto port = stack_env("OTP_TEST_REDIS_PORT");
  if (!host || !port) return std::nullopt;
  redis::RedisOptions options;
  options.host = *host;
  options.port = std::stoi(*port);
  options.connect_timeout = std::chrono::milliseconds(1000);
  options.command_timeout = std::chrono::milliseconds(2000);
  return options;
}

/// A name no other test run uses: tenants, topic prefixes, consumer groups.
inline std::string unique_name(const std::string& prefix) {
  static std::atomic<int> counter{0};
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return prefix + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now).count()) + "-" +
         std::to_string(counter++);
}

}  // namespace otp::generator::testing
