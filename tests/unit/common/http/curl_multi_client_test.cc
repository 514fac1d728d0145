// CurlMultiClient against a tiny HTTP/1.1 server in the test process (loopback only).

#include "common/http/curl_multi_client.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <netinet/in.h>
#include <set>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace otp::http {
namespace {

using namespace std::chrono_literals;

/// Answers every request `200` with body `<method> <path> <request body>` after `delay`, keeping
/// connections alive; counts connections and the most requests it served at once.
class TinyServer {
 public:
  explicit TinyServer(std::chrono::milliseconds delay) : delay_(delay) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int yes = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::listen(fd_, 512);
    socklen_t size = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~TinyServer() {
    stopping_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    acceptor_.join();
    std::lock_guard lock(mutex_);
    for (int fd : clients_) ::shutdown(fd, SHUT_RDWR);
    for (auto& thread : workers_) thread.join();  // a sleeping one finishes its delay first
  }

  [[nodiscard]] std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int connections() const { return connections_.load(); }
  int max_concurrent() const { return max_concurrent_.load(); }

 private:
  void accept_loop() {
    while (!stopping_) {
      int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) return;
      ++connections_;
      std::lock_guard lock(mutex_);
      clients_.push_back(client);
      workers_.emplace_back([this, client] { serve(client); });
    }
  }

  void serve(int client) {
    std::string buffer;
    char chunk[4096];
    while (true) {
      auto header_end = buffer.find("\r\n\r\n");
      while (header_end == std::string::npos) {
        ssize_t got = ::recv(client, chunk, sizeof chunk, 0);
        if (got <= 0) {
          ::close(client);
          return;
        }
        buffer.append(chunk, static_cast<std::size_t>(got));
        header_end = buffer.find("\r\n\r\n");
      }
      std::string head = buffer.substr(0, header_end);
      std::size_t length = 0;
      if (auto at = head.find("Content-Length: "); at != std::string::npos) {
        length = std::stoul(head.substr(at + 16));
      }
      while (buffer.size() < header_end + 4 + length) {
        ssize_t got = ::recv(client, chunk, sizeof chunk, 0);
        if (got <= 0) {
          ::close(client);
          return;
        }
        buffer.append(chunk, static_cast<std::size_t>(got));
      }
      std::string body = buffer.substr(header_end + 4, length);
      buffer.erase(0, header_end + 4 + length);
      std::string line = head.substr(0, head.find("\r\n"));  // "POST /path HTTP/1.1"
      std::string method = line.substr(0, line.find(' '));
      std::string path = line.substr(method.size() + 1, line.rfind(' ') - method.size() - 1);

      int now = ++active_;
      int seen = max_concurrent_.load();
      while (now > seen && !max_concurrent_.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::sleep_for(delay_);
      --active_;
      std::string reply = method + " " + path + " " + body;
      std::string response = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(reply.size()) +
                             "\r\nX-Test: yes\r\n\r\n" + reply;
      ::send(client, response.data(), response.size(), MSG_NOSIGNAL);
    }
  }

  std::chrono::milliseconds delay_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> active_{0};
  std::atomic<int> max_concurrent_{0};
  std::mutex mutex_;
  std::vector<int> clients_;
  std::vector<std::thread> workers_;
  std::thread acceptor_;
};

HttpRequest post(const std::string& url, std::string body,
                 std::chrono::milliseconds timeout = 5000ms) {
  return HttpRequest{.method = "POST",
                     .url = url,
                     .headers = {{"Content-Type", "text/plain"}},
                     .body = std::move(body),
                     .timeout = timeout,
                     .basic_auth = std::nullopt};
}

/// Collects `expected` outcomes delivered on the client's thread.
class Outcomes {
 public:
  explicit Outcomes(std::size_t expected) : expected_(expected) {}
  ResponseCallback callback() {
    return [this](Result<HttpResponse> outcome) {
      std::lock_guard lock(mutex_);
      results_.push_back(std::move(outcome));
      if (results_.size() == expected_) done_.notify_all();
    };
  }
  std::vector<Result<HttpResponse>> wait() {
    std::unique_lock lock(mutex_);
    done_.wait_for(lock, 30s, [this] { return results_.size() >= expected_; });
    return results_;
  }

 private:
  std::size_t expected_;
  std::mutex mutex_;
  std::condition_variable done_;
  std::vector<Result<HttpResponse>> results_;
};

TEST(CurlMultiClientTest, ManyRequestsAreInFlightAtOnceOnOneLoopThread) {
  TinyServer server(300ms);
  CurlMultiClient client;
  constexpr int kRequests = 40;
  Outcomes outcomes(kRequests);
  for (int i = 0; i < kRequests; ++i) {
    client.submit(post(server.url("/r/" + std::to_string(i)), "b" + std::to_string(i)),
                  outcomes.callback());
  }
  auto results = outcomes.wait();
  ASSERT_EQ(results.size(), static_cast<std::size_t>(kRequests));
  std::set<std::string> bodies;
  for (const auto& result : results) {
    ASSERT_TRUE(result.has_value()) << result.error().message;
    EXPECT_EQ(result->status, 200);
    EXPECT_EQ(result->header("x-test"), "yes");
    bodies.insert(result->body);
  }
  EXPECT_EQ(bodies.size(), static_cast<std::size_t>(kRequests));
  EXPECT_TRUE(bodies.count("POST /r/7 b7"));
  EXPECT_GE(server.max_concurrent(), kRequests / 2) << "requests were not concurrent";
  EXPECT_EQ(client.in_flight(), 0U);
}

TEST(CurlMultiClientTest, ConnectionsAreReused) {
  TinyServer server(0ms);
  CurlMultiClient client;
  for (int i = 0; i < 10; ++i) {
    Outcomes one(1);
    client.submit(post(server.url("/seq"), "x"), one.callback());
    auto results = one.wait();
    ASSERT_TRUE(results.at(0).has_value()) << results.at(0).error().message;
  }
  EXPECT_EQ(server.connections(), 1);
}

TEST(CurlMultiClientTest, SubmitIsThreadSafe) {
  TinyServer server(5ms);
  CurlMultiClient client;
  constexpr int kThreads = 8;
  constexpr int kEach = 25;
  Outcomes outcomes(kThreads * kEach);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        client.submit(post(server.url("/t"), std::to_string(t * 1000 + i)), outcomes.callback());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  auto results = outcomes.wait();
  ASSERT_EQ(results.size(), static_cast<std::size_t>(kThreads * kEach));
  for (const auto& result : results) EXPECT_TRUE(result.has_value());
}

TEST(CurlMultiClientTest, TransportFailuresAreClassified) {
  TinyServer slow(2000ms);
  CurlMultiClient client;
  Outcomes outcomes(3);
  client.submit(post(slow.url("/slow"), "", 200ms), outcomes.callback());
  client.submit(post("http://127.0.0.1:1/closed", ""), outcomes.callback());
  client.submit(post("ftp://127.0.0.1/nope", ""), outcomes.callback());
  auto results = outcomes.wait();
  ASSERT_EQ(results.size(), 3U);
  std::multiset<Errc> codes;
  for (const auto& result : results) {
    ASSERT_FALSE(result.has_value());
    codes.insert(result.error().code);
    EXPECT_EQ(result.error().message.find("/slow"), std::string::npos) << "no path in errors";
  }
  EXPECT_EQ(codes.count(Errc::kTimeout), 1U);
  EXPECT_EQ(codes.count(Errc::kUnavailable), 1U);
  EXPECT_EQ(codes.count(Errc::kInternal), 1U);
}

TEST(CurlMultiClientTest, DestructionAnswersWhatIsStillRunning) {
  TinyServer server(3000ms);
  Outcomes outcomes(5);
  {
    CurlMultiClient client;
    for (int i = 0; i < 5; ++i) client.submit(post(server.url("/hang"), ""), outcomes.callback());
    std::this_thread::sleep_for(100ms);
  }
  auto results = outcomes.wait();
  ASSERT_EQ(results.size(), 5U);
  for (const auto& result : results) {
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code, Errc::kUnavailable);
  }
}

}  // namespace
}  // namespace otp::http
