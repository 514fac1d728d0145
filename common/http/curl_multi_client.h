#pragma once

#include "common/http/async_http_client.h"

#include <cstddef>
#include <memory>

namespace otp::http {

struct CurlMultiOptions {
  /// Connections kept open for reuse (libcurl's connection cache of the multi handle). Size it
  /// like the number of requests in flight, so that a burst does not close and reopen sockets.
  long max_connections = 256;
  /// Connections to one host at a time; 0 = no limit. Excess transfers queue inside libcurl.
  long max_host_connections = 0;
};

/// `AsyncHttpClient` over libcurl's multi interface: one event-loop thread drives every transfer,
/// so thousands of requests can be in flight without a thread each, and connections (keep-alive,
/// TLS sessions) are shared by all of them through the multi handle's connection cache. The loop
/// uses libcurl's socket interface on epoll: the cost of a wakeup follows the sockets that are
/// ready, not the number of transfers in flight.
///
/// `submit` is thread-safe and never blocks on the network: it queues the request and wakes the
/// loop (an eventfd, written once per burst of submits). Callbacks run on the loop thread, one at a
/// time. The number in flight is the caller's to bound (the delivery engine does). Destruction
/// stops the loop; requests still queued or running are answered `kUnavailable` ("client stopped")
/// before it returns. Same rules as `CurlHttpClient`: no redirects, http/https only, errors without
/// path or secrets.
class CurlMultiClient final : public AsyncHttpClient {
 public:
  /// Throws `std::runtime_error` if libcurl cannot allocate the multi handle (start-up only).
  explicit CurlMultiClient(CurlMultiOptions options = {});
  ~CurlMultiClient() override;
  CurlMultiClient(const CurlMultiClient&) = delete;
  CurlMultiClient& operator=(const CurlMultiClient&) = delete;

  void submit(HttpRequest request, ResponseCallback done) override;

  /// Requests submitted and not answered yet.
  [[nodiscard]] std::size_t in_flight() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace otp::http
