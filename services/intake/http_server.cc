#include "services/intake/http_server.h"

#include <restinio/all.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <ctime>
#include <exception>
#include <future>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

namespace otp::intake::detail {

/// RESTinio's default method table under a type of our own, so that the parser settings below
/// apply to this server only.
struct IntakeHttpMethods {
  static constexpr restinio::http_method_id_t from_nodejs(int value) noexcept {
    return restinio::default_http_methods_t::from_nodejs(value);
  }
};

}  // namespace otp::intake::detail

namespace restinio::impl {

// RESTinio 0.6 enforces max_body_size by failing the parse, which closes the connection without
// any response. For a declared Content-Length over the limit we instead tell http_parser to skip
// the body (1 from on_headers_complete), so that the request reaches the handler at once with an
// empty body and is answered 413 before a byte of the body is read. Chunked bodies keep
// RESTinio's behaviour (restinio_body_cb fails the parse once they pass the limit).
template <>
inline http_parser_settings
create_parser_settings<otp::intake::detail::IntakeHttpMethods>() noexcept {
  http_parser_settings settings = create_parser_settings<default_http_methods_t>();
  settings.on_headers_complete = [](http_parser* parser) -> int {
    auto* ctx = static_cast<http_parser_ctx_t*>(parser->data);
    if (parser->content_length != ULLONG_MAX &&
        parser->content_length > ctx->m_limits.max_body_size()) {
      ctx->m_leading_headers_completed = true;
      return 1;
    }
    return restinio_headers_complete_cb(parser);
  };
  return settings;
}

}  // namespace restinio::impl

namespace otp::intake {
namespace {

/// RESTinio's diagnostics are mostly about clients (resets, parse errors, timeouts): debug level.
class SpdlogRestinioLogger {
 public:
  template <class Builder>
  void trace(Builder&& /*builder*/) const noexcept {}
  template <class Builder>
  void info(Builder&& /*builder*/) const noexcept {}
  template <class Builder>
  void warn(Builder&& builder) const noexcept {
    log(std::forward<Builder>(builder));
  }
  template <class Builder>
  void error(Builder&& builder) const noexcept {
    log(std::forward<Builder>(builder));
  }

 private:
  template <class Builder>
  static void log(Builder&& builder) noexcept {
    if (!spdlog::should_log(spdlog::level::debug)) return;
    try {
      spdlog::debug("http.server detail=\"{}\"", builder());
    } catch (const std::exception& e) {
      spdlog::debug("http.server log_failed reason=\"{}\"", e.what());
    }
  }
};

struct IntakeTraits : restinio::traits_t<restinio::asio_timer_manager_t, SpdlogRestinioLogger> {
  using http_methods_mapper_t = detail::IntakeHttpMethods;
};

using RestinioServer = restinio::http_server_t<IntakeTraits>;

/// Shared by the server and every outstanding ResponseCallback: responses are only written while
/// the gate is open, i.e. while the io_context and the server still exist.
struct ResponseGate {
  // Responders hold it shared while they hand a response to RESTinio; stop() takes it exclusively.
  std::shared_mutex mutex;
  bool open = true;  // guarded by mutex

  mutable std::mutex idle_mutex;
  mutable std::condition_variable idle;
  std::size_t in_flight = 0;  // guarded by idle_mutex

  void begin_request() {
    std::lock_guard lock(idle_mutex);
    ++in_flight;
  }
  void end_request() {
    std::lock_guard lock(idle_mutex);
    if (in_flight > 0) --in_flight;
    if (in_flight == 0) idle.notify_all();
  }
};

HttpRequest to_http_request(const restinio::request_t& request) {
  HttpRequest out;
  out.method = request.header().method().c_str();
  out.path = std::string(request.header().path());
  out.query = std::string(request.header().query());
  out.headers.reserve(request.header().fields_count());
  request.header().for_each_field([&out](const restinio::http_header_field_t& field) {
    out.headers.emplace_back(field.name(), field.value());
  });
  out.body = request.body();
  return out;
}

/// The Date header's value (RFC 9110 IMF-fixdate), formatted once per second per thread: RESTinio's
/// append_header_date_field runs gmtime and strftime for every response.
const std::string& http_date_now() {
  thread_local std::time_t formatted_for = -1;
  thread_local std::string value;
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  if (now != formatted_for) {
    value = restinio::make_date_field_value(now);
    formatted_for = now;
  }
  return value;
}

void write_response(const std::shared_ptr<ResponseGate>& gate,
                    const restinio::request_handle_t& request, HttpResponse response) {
  std::shared_lock lock(gate->mutex);
  if (!gate->open) return;  // stopped: the io threads are gone
  bool handed_over = false;
  try {
    auto builder = request->create_response(restinio::http_status_line_t(
        restinio::http_status_code_t(static_cast<std::uint16_t>(response.status)),
        std::string(reason_phrase(response.status))));
    builder.append_header(restinio::http_field_t::date, http_date_now());
    for (auto& [name, value] : response.headers) builder.append_header(name, std::move(value));
    if (response.close_connection) builder.connection_close();
    builder.set_body(std::move(response.body));
    // From here the notificator owns the count: RESTinio runs it exactly once, also when the
    // connection is already gone or the write group is dropped.
    handed_over = true;
    builder.done([gate](const asio::error_code& /*ec*/) { gate->end_request(); });
  } catch (const std::exception& e) {
    spdlog::error("http.response_failed reason=\"{}\"", e.what());
    if (!handed_over) gate->end_request();
  }
}

}  // namespace

// Shared by the HttpServer and every outstanding ResponseCallback: a request handle keeps its
// connection, whose socket belongs to a shard's io_context, so the io_contexts (and the RESTinio
// servers) must outlive every handle. Whoever lets go last destroys them, after stop() joined the
// threads.
//
// One shard per io thread: its own io_context, RESTinio server and listening socket, all on the
// same port (SO_REUSEPORT, the kernel spreads new connections over them). A connection lives on
// one thread from accept to close, so nothing hands work from one io thread to another; with one
// io_context run by two threads, asio passed most events between the threads: 1.4 more thread
// switches per request on the sync path (docs/performance.md, "One event loop per io thread").
struct HttpServer::Impl : std::enable_shared_from_this<Impl> {
  struct Shard {
    asio::io_context io{1};  // run by exactly one thread
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
    std::unique_ptr<RestinioServer> server;
    std::thread thread;
  };

  std::vector<std::unique_ptr<Shard>> shards;
  // Not Impl itself: RESTinio keeps write notificators in io_context queues, and an Impl owned
  // from there would never be destroyed.
  std::shared_ptr<ResponseGate> gate = std::make_shared<ResponseGate>();
  Handler handler;
  std::atomic<std::uint16_t> port{0};
  bool accepting = false;
  bool stopped = false;

  /// What a ResponseCallback holds; members are destroyed in reverse order, the request first.
  struct Pending {
    std::shared_ptr<Impl> owner;
    restinio::request_handle_t request;
  };

  restinio::request_handling_status_t on_request(const restinio::request_handle_t& request) {
    gate->begin_request();
    ResponseCallback respond = [pending =
                                    Pending{shared_from_this(), request}](HttpResponse response) {
      write_response(pending.owner->gate, pending.request, std::move(response));
    };
    try {
      handler(to_http_request(*request), std::move(respond));
    } catch (const std::exception& e) {
      // A handler that throws has not answered (handlers answer through values, not exceptions).
      spdlog::error("http.handler_failed reason=\"{}\"", e.what());
      HttpResponse response;
      response.status = 500;
      response.headers = {{"Content-Type", "application/json"}};
      response.body = R"({"success":false,"error":{"code":"internal","message":"internal error"}})";
      response.close_connection = true;
      write_response(gate, request, std::move(response));
    }
    return restinio::request_accepted();
  }

  /// Opens `shard`'s listening socket on `on_port` (0: a free one, recorded in `port`) and
  /// returns once it accepts: kInvalidInput for settings RESTinio refuses, kUnavailable when the
  /// address cannot be listened on.
  Result<void> open(Shard& shard, const HttpServerSettings& settings, std::uint16_t on_port,
                    bool reuse_port) {
    restinio::server_settings_t<IntakeTraits> options;
    options.address(settings.host)
        .port(on_port)
        .max_pipelined_requests(1)
        .read_next_http_message_timelimit(settings.read_timeout)
        .write_http_response_timelimit(settings.read_timeout)
        .handle_request_timeout(settings.handle_timeout)
        .incoming_http_msg_limits(restinio::incoming_http_msg_limits_t{}
                                      .max_url_size(8 * 1024)
                                      .max_field_name_size(256)
                                      .max_field_value_size(8 * 1024)
                                      .max_field_count(100)
                                      .max_body_size(settings.max_body_bytes))
        .socket_options_setter([](restinio::socket_options_t& socket) {
          socket.set_option(asio::ip::tcp::no_delay(true));
        })
        .acceptor_options_setter([reuse_port](restinio::acceptor_options_t& acceptor) {
          acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true));
          if (reuse_port) {
            acceptor.set_option(
                asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
          }
        })
        .acceptor_post_bind_hook(
            [this](asio::ip::tcp::acceptor& acceptor) { port = acceptor.local_endpoint().port(); })
        .request_handler(
            [this](const restinio::request_handle_t& request) { return on_request(request); });
    try {
      shard.server = std::make_unique<RestinioServer>(restinio::external_io_context(shard.io),
                                                      std::move(options));
    } catch (const std::exception& e) {
      return fail(Errc::kInvalidInput, std::string("http: bad server settings: ") + e.what());
    }
    // The thread runs from the start (kept alive by a work guard) so that opening happens on
    // it, as RESTinio requires for its open/close operations.
    shard.work.emplace(shard.io.get_executor());
    shard.thread = std::thread([&shard] { shard.io.run(); });
    std::promise<std::string> opened;
    auto opened_future = opened.get_future();
    shard.server->open_async([&opened]() noexcept { opened.set_value({}); },
                             [&opened](std::exception_ptr error) noexcept {
                               try {
                                 std::rethrow_exception(std::move(error));
                               } catch (const std::exception& e) {
                                 opened.set_value(e.what());
                               }
                             });
    const std::string open_error = opened_future.get();
    if (!open_error.empty()) {
      return fail(Errc::kUnavailable, "http: cannot listen on " + settings.host + ":" +
                                          std::to_string(on_port) + ": " + open_error);
    }
    return {};
  }
};

namespace {

/// Whether `host:port` can be bound by a socket without SO_REUSEPORT: the shards share their
/// port with one another, but must not share it with a process already listening there (a second
/// intake started on the same port fails as it would without shards). Returns the port to use
/// (the free one the kernel chose when `port` is 0) or the reason it cannot be bound.
Result<std::uint16_t> claim_port(const std::string& host, std::uint16_t port) {
  try {
    asio::io_context io;
    asio::ip::tcp::acceptor probe(io);
    // The two names RESTinio itself accepts besides addresses (impl/acceptor.hpp).
    const std::string address = host == "localhost"       ? "127.0.0.1"
                                : host == "ip6-localhost" ? "::1"
                                                          : host;
    const asio::ip::tcp::endpoint endpoint(asio::ip::make_address(address), port);
    probe.open(endpoint.protocol());
    probe.set_option(asio::ip::tcp::acceptor::reuse_address(true));
    probe.bind(endpoint);
    return probe.local_endpoint().port();
  } catch (const std::exception& e) {
    return fail(Errc::kUnavailable,
                "http: cannot listen on " + host + ":" + std::to_string(port) + ": " + e.what());
  }
}

}  // namespace

HttpServer::HttpServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { stop(); }

Result<std::unique_ptr<HttpServer>> HttpServer::start(const HttpServerSettings& settings,
                                                      Handler handler) {
  auto impl = std::make_shared<Impl>();
  impl->handler = std::move(handler);
  const int threads = std::max(settings.threads, 1);
  const bool reuse_port = threads > 1;
  std::uint16_t port = settings.port;
  if (reuse_port) {
    auto claimed = claim_port(settings.host, settings.port);
    if (!claimed) return tl::unexpected(claimed.error());
    port = *claimed;
  }
  auto server = std::unique_ptr<HttpServer>(new HttpServer(impl));
  for (int i = 0; i < threads; ++i) {
    impl->shards.push_back(std::make_unique<Impl::Shard>());
    if (auto opened = impl->open(*impl->shards.back(), settings, port, reuse_port); !opened) {
      server->stop();
      return tl::unexpected(opened.error());
    }
    port = impl->port.load();
  }
  impl->accepting = true;
  return server;
}

std::uint16_t HttpServer::port() const noexcept { return impl_->port.load(); }

std::size_t HttpServer::in_flight() const {
  std::lock_guard lock(impl_->gate->idle_mutex);
  return impl_->gate->in_flight;
}

bool HttpServer::wait_idle(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->gate->idle_mutex);
  return impl_->gate->idle.wait_for(lock, timeout, [this] { return impl_->gate->in_flight == 0; });
}

void HttpServer::stop_accepting() {
  if (!impl_->accepting) return;
  impl_->accepting = false;
  for (auto& shard : impl_->shards) {
    if (!shard->server) continue;
    std::promise<void> closed;
    auto closed_future = closed.get_future();
    shard->server->close_async([&closed]() noexcept { closed.set_value(); },
                               [&closed](std::exception_ptr error) noexcept {
                                 try {
                                   std::rethrow_exception(std::move(error));
                                 } catch (const std::exception& e) {
                                   spdlog::warn("http.close_failed reason=\"{}\"", e.what());
                                 }
                                 closed.set_value();
                               });
    closed_future.wait();
  }
}

void HttpServer::stop() {
  if (impl_->stopped) return;
  stop_accepting();
  {
    std::unique_lock lock(impl_->gate->mutex);
    impl_->gate->open = false;
  }
  impl_->stopped = true;
  for (auto& shard : impl_->shards) {
    shard->work.reset();
    shard->io.stop();
  }
  for (auto& shard : impl_->shards) {
    if (shard->thread.joinable()) shard->thread.join();
  }
}

}  // namespace otp::intake
