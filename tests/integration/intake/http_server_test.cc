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
#include <mutex>
#include <netinet/in.h>
#include <optional>
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

}  // namespace
}  // namespace otp::intake
