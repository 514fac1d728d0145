#pragma once

#include "common/error/error.h"
#include "services/intake/http_message.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace otp::intake {

/// Listening address, threads and the limits that keep a bad client from holding resources.
struct HttpServerSettings {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  ///< 0 picks a free port; see HttpServer::port()
  int threads = 2;  ///< io threads, each with an event loop and a listening socket of its own
  /// Larger bodies are answered 413 from their Content-Length, without reading them.
  std::size_t max_body_bytes = 16 * 1024;
  /// The time a client gets to send one whole request (headers and body), and to read one
  /// response; an idle keep-alive connection is closed after it too.
  std::chrono::milliseconds read_timeout{10'000};
  /// The time a handler gets to answer before the connection is closed without a response; a
  /// backstop only, as handlers answer by their own deadline.
  std::chrono::milliseconds handle_timeout{15'000};
};

/// The HTTP/1.1 listener: RESTinio (docs/decisions/0004-http-server-restinio.md), one event loop
/// per io thread. Each loop has its own listening socket on the same port (SO_REUSEPORT; the
/// kernel spreads new connections over them), and a connection stays on its loop's thread for its
/// whole life. With more than one thread the port is first bound without SO_REUSEPORT, so a port
/// another process listens on is still an error. This is the only file that names RESTinio or
/// asio; everything behind `Handler` sees plain HttpRequest/HttpResponse values.
///
/// A request is handed to `Handler` together with a ResponseCallback that may be called later
/// from any thread (typically when the generator's reply arrives): no thread waits per request.
/// Responses that arrive after `stop()` are dropped; a ResponseCallback may even outlive the
/// HttpServer (it keeps what it needs alive), but should not be held for long after.
///
/// Bodies whose Content-Length exceeds `max_body_bytes` are not read: the handler receives the
/// request with an empty body (it sees the Content-Length header and answers 413), and the
/// connection is closed after the response. A chunked body that grows past the limit makes the
/// server close the connection without a response.
///
/// Thread-safety: `port`, `in_flight` and `wait_idle` are thread-safe; `stop_accepting` and
/// `stop` are for the owning thread. The destructor calls `stop`.
class HttpServer {
 public:
  using Handler = std::function<void(HttpRequest request, ResponseCallback respond)>;

  /// Binds, starts the io threads and returns once the server accepts connections; kUnavailable
  /// if the address cannot be bound.
  [[nodiscard]] static Result<std::unique_ptr<HttpServer>> start(const HttpServerSettings& settings,
                                                                 Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// The bound port (the chosen one when the settings said 0).
  [[nodiscard]] std::uint16_t port() const noexcept;

  /// Requests handed to the handler whose response has not been written (or failed) yet.
  [[nodiscard]] std::size_t in_flight() const;

  /// Waits until `in_flight()` is zero; false if `timeout` passed first.
  bool wait_idle(std::chrono::milliseconds timeout) const;

  /// Closes the listening socket; open connections keep being served.
  void stop_accepting();

  /// Stops accepting, drops responses that come later and stops the io threads. Open connections
  /// are closed when the server is destroyed (and the last outstanding ResponseCallback with it).
  /// Idempotent.
  void stop();

  struct Impl;

 private:
  explicit HttpServer(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace otp::intake
