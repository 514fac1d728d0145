// HttpServer (RESTinio) in-process on a loopback port: responses completed later from other
// threads, the unread-body 413 path, in-flight accounting and stopping with responses pending.
// Needs no stack, only sockets; also the intake's threading test under the tsan preset.

#include "services/intake/http_server.h"

#include "tests/support/send_http.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <netinet/in.h>
#include <optional>
#include <set>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace otp::intake {
namespace {

using namespace std::chrono_literals;

using test::HttpReply;

HttpReply get(std::uint16_t port, const std::string& path) {
  return test::send_http("GET", "http://127.0.0.1:" + std::to_string(port) + path, "", {}, 10s);
}

/// Keeps every ResponseCallback it is handed until the test answers it.
class DeferredHandler {
 public:
  HttpServer::Handler handler() {
    return [this](HttpRequest request, ResponseCallback respond) {
      std::lock_guard lock(mutex_);
      requests_.push_back(std::move(request));
      waiting_.push_back(std::move(respond));
      arrived_.notify_all();
    };
  }

  /// Waits until `count` requests are waiting.
  bool wait_for(std::size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return arrived_.wait_for(lock, timeout, [&] { return waiting_.size() >= count; });
  }

  std::vector<ResponseCallback> take_all() {
    std::lock_guard lock(mutex_);
    std::vector<ResponseCallback> out(std::make_move_iterator(waiting_.begin()),
                                      std::make_move_iterator(waiting_.end()));
    waiting_.clear();
    return out;
  }

  std::vector<HttpRequest> requests() {
    std::lock_guard lock(mutex_);
    return {requests_.begin(), requests_.end()};
  }

 private:
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::deque<HttpRequest> requests_;
  std::deque<ResponseCallback> waiting_;
};

HttpResponse text(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.headers = {{"Content-Type", "text/plain"}};
  response.body = std::move(body);
  return response;
}

HttpServerSettings test_settings() {
  return HttpServerSettings{.host = "127.0.0.1",
                            .port = 0,
                            .threads = 2,
                            .max_body_bytes = 1024,
                            .read_timeout = 5s,
                            .handle_timeout = 10s};
}

TEST(HttpServer, ManyRequestsAnsweredLaterFromAnotherThread) {
  DeferredHandler deferred;
  auto server = HttpServer::start(test_settings(), deferred.handler());
  ASSERT_TRUE(server.has_value()) << server.error().message;
  const auto port = (*server)->port();
  ASSERT_NE(port, 0);

  constexpr int kClients = 40;
  std::vector<HttpReply> answers(kClients);
  std::vector<std::jthread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back(
        [&answers, port, i] { answers[i] = get(port, "/r/" + std::to_string(i)); });
  }
  // All of them wait at once, with two io threads: nothing blocks per request.
  ASSERT_TRUE(deferred.wait_for(kClients, 10s));
  EXPECT_EQ((*server)->in_flight(), static_cast<std::size_t>(kClients));

  std::jthread replier([&deferred] {
    for (auto& respond : deferred.take_all()) respond(text(200, "done"));
  });
  replier.join();
  clients.clear();  // joins

  for (const auto& answer : answers) {
    EXPECT_FALSE(answer.error.has_value()) << answer.error->message;
    EXPECT_EQ(answer.status, 200);
    EXPECT_EQ(answer.body, "done");
  }
  EXPECT_TRUE((*server)->wait_idle(5s));
  EXPECT_EQ((*server)->in_flight(), 0U);
}

TEST(HttpServer, OversizedBodyReachesTheHandlerUnreadWithItsContentLength) {
  DeferredHandler deferred;
  auto server = HttpServer::start(test_settings(), deferred.handler());
  ASSERT_TRUE(server.has_value());

  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons((*server)->port());
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  const std::string head =
      "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n" + std::string(100, 'x');
  ASSERT_EQ(::send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));

  ASSERT_TRUE(deferred.wait_for(1, 5s));
  const auto requests = deferred.requests();
  EXPECT_TRUE(requests.at(0).body.empty());
  EXPECT_EQ(requests.at(0).header("content-length"), "1000000");
  auto response = text(413, "too large");
  response.close_connection = true;
  deferred.take_all().at(0)(std::move(response));

  std::string received;
  char buffer[1024];
  for (ssize_t got = 0; (got = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) {
    received.append(buffer, static_cast<std::size_t>(got));
  }
  ::close(fd);
  EXPECT_TRUE(received.starts_with("HTTP/1.1 413 Payload Too Large")) << received;
  EXPECT_NE(received.find("Connection: close"), std::string::npos);
}

TEST(HttpServer, ResponsesAfterStopAreDroppedSafely) {
  DeferredHandler deferred;
  auto server = HttpServer::start(test_settings(), deferred.handler());
  ASSERT_TRUE(server.has_value());
  const auto port = (*server)->port();
  std::optional<HttpReply> answer;
  std::jthread client([port, &answer] { answer = get(port, "/never-answered"); });
  ASSERT_TRUE(deferred.wait_for(1, 5s));
  EXPECT_FALSE((*server)->wait_idle(50ms));

  (*server)->stop();
  auto late = deferred.take_all();
  for (auto& respond : late) respond(text(200, "too late"));  // dropped, must not crash
  server->reset();  // the callbacks still hold the io_context: nothing is freed under them
  late.clear();     // now the connection closes
  client.join();
  ASSERT_TRUE(answer.has_value());
  ASSERT_TRUE(answer->error.has_value()) << "closed without a response";
  EXPECT_NE(answer->error->code, Errc::kTimeout) << answer->error->message;
}

TEST(HttpServer, ACallbackMayOutliveTheServer) {
  DeferredHandler deferred;
  auto server = HttpServer::start(test_settings(), deferred.handler());
  ASSERT_TRUE(server.has_value());
  const auto port = (*server)->port();
  std::jthread client([port] { static_cast<void>(get(port, "/x")); });
  ASSERT_TRUE(deferred.wait_for(1, 5s));
  server->reset();  // stops and lets go; the pending callback keeps the rest alive
  auto late = deferred.take_all();
  late.at(0)(text(200, "too late"));
  late.clear();  // the last owner: io_context and connection go now
  client.join();
}

/// A keep-alive client connection on a raw socket, for tests about connections themselves.
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~RawConnection() { ::close(fd_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  /// Sends a GET and reads one response whose body is `expected_body`; false on any failure.
  bool get(const std::string& path, const std::string& expected_body) {
    if (!connected_) return false;
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n";
    if (::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
      return false;
    }
    std::string received;
    const std::string end = "\r\n\r\n" + expected_body;
    char chunk[4096];
    while (received.find(end) == std::string::npos) {
      const auto n = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (n <= 0) return false;
      received.append(chunk, static_cast<std::size_t>(n));
    }
    return received.starts_with("HTTP/1.1 200");
  }

 private:
  int fd_;
  bool connected_ = false;
};

TEST(HttpServer, EachConnectionStaysOnOneIoThreadAndConnectionsSpreadOverThem) {
  // Each io thread runs an event loop of its own with its own listening socket on the one port;
  // the kernel spreads new connections over them, and a connection never moves. (With one
  // io_context run by both threads, a keep-alive connection's requests ran on either.)
  constexpr int kConnections = 16;
  constexpr int kRequests = 40;
  std::mutex mutex;
  std::vector<std::set<std::thread::id>> seen(kConnections);
  auto server =
      HttpServer::start(test_settings(), [&](HttpRequest request, ResponseCallback respond) {
        {
          std::lock_guard lock(mutex);
          seen.at(std::stoul(request.path.substr(3))).insert(std::this_thread::get_id());
        }
        respond(text(200, "ok"));  // on the io thread itself, as a synchronous handler answers
      });
  ASSERT_TRUE(server.has_value()) << server.error().message;
  std::vector<std::unique_ptr<RawConnection>> connections;
  for (int c = 0; c < kConnections; ++c) {
    connections.push_back(std::make_unique<RawConnection>((*server)->port()));
  }
  for (int r = 0; r < kRequests; ++r) {
    for (int c = 0; c < kConnections; ++c) {
      ASSERT_TRUE(connections[c]->get("/c/" + std::to_string(c), "ok")) << c;
    }
  }
  std::lock_guard lock(mutex);
  std::set<std::thread::id> all;
  for (int c = 0; c < kConnections; ++c) {
    EXPECT_EQ(seen[c].size(), 1U) << "connection " << c;
    all.insert(seen[c].begin(), seen[c].end());
  }
  // 16 connections all on one of two listeners: 2^-15.
  EXPECT_EQ(all.size(), 2U);
}

TEST(HttpServer, LocalhostIsAHostForEveryThreadCount) {
  for (const int threads : {1, 2}) {
    auto settings = test_settings();
    settings.host = "localhost";
    settings.threads = threads;
    auto server = HttpServer::start(
        settings, [](HttpRequest, ResponseCallback respond) { respond(text(200, "ok")); });
    ASSERT_TRUE(server.has_value()) << threads << " threads: " << server.error().message;
    EXPECT_EQ(get((*server)->port(), "/local").status, 200) << threads << " threads";
  }
}

TEST(HttpServer, OneIoThreadServesEveryConnection) {
  std::mutex mutex;
  std::set<std::thread::id> threads;
  auto settings = test_settings();
  settings.threads = 1;
  auto server = HttpServer::start(settings, [&](HttpRequest, ResponseCallback respond) {
    {
      std::lock_guard lock(mutex);
      threads.insert(std::this_thread::get_id());
    }
    respond(text(200, "ok"));
  });
  ASSERT_TRUE(server.has_value()) << server.error().message;
  for (int i = 0; i < 8; ++i) EXPECT_EQ(get((*server)->port(), "/one").status, 200);
  std::lock_guard lock(mutex);
  EXPECT_EQ(threads.size(), 1U);
}

TEST(HttpServer, BusyPortIsAnError) {
  DeferredHandler deferred;
  auto first = HttpServer::start(test_settings(), deferred.handler());
  ASSERT_TRUE(first.has_value());
  auto settings = test_settings();
  settings.port = (*first)->port();
  auto second = HttpServer::start(settings, deferred.handler());
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, Errc::kUnavailable);
}

TEST(HttpServer, BusyPortIsAnErrorForEveryThreadCount) {
  // A listener of another process (here: one without SO_REUSEPORT) keeps the port: the shards
  // share it with one another only.
  DeferredHandler deferred;
  auto settings = test_settings();
  settings.threads = 1;
  auto first = HttpServer::start(settings, deferred.handler());
  ASSERT_TRUE(first.has_value());
  for (const int threads : {1, 2, 3}) {
    auto again = test_settings();
    again.threads = threads;
    again.port = (*first)->port();
    auto second = HttpServer::start(again, deferred.handler());
    ASSERT_FALSE(second.has_value()) << threads << " threads";
    EXPECT_EQ(second.error().code, Errc::kUnavailable);
  }
}

}  // namespace
}  // namespace otp::intake
