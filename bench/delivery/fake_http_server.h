#pragma once

// A tiny HTTP/1.1 server that answers every request like Twilio's Messages API (201 with a
// message sid) after a fixed latency, for the delivery benchmark: Python's fake cannot serve
// thousands of requests per second. Keep-alive; one asio thread; timers, not sleeping threads.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace otp::bench {

class FakeHttpServer {
 public:
  /// Listens on 127.0.0.1:`port` (0 = any free port) and serves from its own thread.
  FakeHttpServer(std::uint16_t port, std::chrono::milliseconds latency);
  ~FakeHttpServer();
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  [[nodiscard]] std::uint16_t port() const;
  [[nodiscard]] std::uint64_t requests() const;
  [[nodiscard]] std::uint64_t connections() const;
  /// When the first and the latest request arrived (steady clock).
  [[nodiscard]] std::chrono::steady_clock::time_point first_request() const;
  [[nodiscard]] std::chrono::steady_clock::time_point last_request() const;
  /// Most requests waiting for their answer at once.
  [[nodiscard]] std::uint64_t max_in_flight() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace otp::bench
