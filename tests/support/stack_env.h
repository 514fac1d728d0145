#pragma once

// Small helpers shared by the suites that run against the local stack (integration, e2e).

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace otp::test {

/// The value of a stack address variable (`OTP_TEST_KAFKA_BROKERS`, ...). Unset or empty fails the
/// test with a message saying how to get a stack, rather than skipping it.
inline std::string required_env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    ADD_FAILURE() << name << " is not set: run the suite with scripts/test (it starts the stack)";
    return {};
  }
  return value;
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read it back, close).
inline int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t size = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(fd);
  return ntohs(address.sin_port);
}

/// Polls `predicate` every `step` until it holds or `limit` has passed; its last answer.
template <class Predicate>
bool eventually(std::chrono::milliseconds limit, Predicate predicate,
                std::chrono::milliseconds step = std::chrono::milliseconds(100)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(step);
  }
  return predicate();
}

}  // namespace otp::test
