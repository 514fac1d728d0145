#include "bench/delivery/fake_http_server.h"

#include <asio.hpp>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

namespace otp::bench {
namespace {

using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

}  // namespace

struct FakeHttpServer::Impl {
  Impl(std::uint16_t port, std::chrono::milliseconds wait)
      : latency(wait), acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port)) {
    acceptor.listen(4096);
  }

  awaitable<void> serve(tcp::socket socket) {
    std::string buffer;
    try {
      while (true) {
        const std::size_t header_end = co_await asio::async_read_until(
            socket, asio::dynamic_buffer(buffer), "\r\n\r\n", use_awaitable);
        std::size_t length = 0;
        const auto head = std::string_view(buffer).substr(0, header_end);
        for (std::string_view name : {"Content-Length: ", "content-length: "}) {
          if (auto at = head.find(name); at != std::string_view::npos) {
            length = std::stoul(std::string(head.substr(at + name.size(), 12)));
          }
        }
        if (buffer.size() < header_end + length) {
          co_await asio::async_read(socket, asio::dynamic_buffer(buffer),
                                    asio::transfer_exactly(header_end + length - buffer.size()),
                                    use_awaitable);
        }
        buffer.erase(0, header_end + length);
        const auto now = SteadyClock::now();
        const auto count = ++requests;
        {
          std::lock_guard lock(times_mutex);
          if (count == 1) first = now;
          last = now;
        }
        const auto waiting = ++in_flight;
        auto seen = max_in_flight.load();
        while (waiting > seen && !max_in_flight.compare_exchange_weak(seen, waiting)) {
        }
        asio::steady_timer timer(socket.get_executor(), latency);
        co_await timer.async_wait(use_awaitable);
        --in_flight;
        char sid[40];
        std::snprintf(sid, sizeof sid, "SM%032llx", static_cast<unsigned long long>(count));
        const std::string body = std::string(R"({"sid":")") + sid +
                                 R"(","status":"queued","num_segments":"1","error_code":null})";
        const std::string response =
            "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
            "Content-Length: " +
            std::to_string(body.size()) + "\r\n\r\n" + body;
        co_await asio::async_write(socket, asio::buffer(response), use_awaitable);
      }
    } catch (const std::exception&) {
      // the client closed the connection
    }
  }

  awaitable<void> accept_loop() {
    while (true) {
      auto socket = co_await acceptor.async_accept(use_awaitable);
      ++connections;
      asio::co_spawn(io, serve(std::move(socket)), asio::detached);
    }
  }

  std::chrono::milliseconds latency;
  asio::io_context io;
  tcp::acceptor acceptor;
  std::thread thread;
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> connections{0};
  std::atomic<std::uint64_t> in_flight{0};
  std::atomic<std::uint64_t> max_in_flight{0};
  mutable std::mutex times_mutex;
  SteadyClock::time_point first{};
  SteadyClock::time_point last{};
};

FakeHttpServer::FakeHttpServer(std::uint16_t port, std::chrono::milliseconds latency)
    : impl_(std::make_unique<Impl>(port, latency)) {
  asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

FakeHttpServer::~FakeHttpServer() {
  impl_->io.stop();
  impl_->thread.join();
}

std::uint16_t FakeHttpServer::port() const { return impl_->acceptor.local_endpoint().port(); }
std::uint64_t FakeHttpServer::requests() const { return impl_->requests.load(); }
std::uint64_t FakeHttpServer::connections() const { return impl_->connections.load(); }
std::uint64_t FakeHttpServer::max_in_flight() const { return impl_->max_in_flight.load(); }
std::chrono::steady_clock::time_point FakeHttpServer::first_request() const {
  std::lock_guard lock(impl_->times_mutex);
  return impl_->first;
}
std::chrono::steady_clock::time_point FakeHttpServer::last_request() const {
  std::lock_guard lock(impl_->times_mutex);
  return impl_->last;
}

}  // namespace otp::bench
