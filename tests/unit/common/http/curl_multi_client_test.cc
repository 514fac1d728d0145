// CurlMultiClient against a tiny HTTP/1.1 server in the test process (loopback only).

#include "common/http/curl_multi_client.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
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
    std::vector<std::thread> workers;
    {
      std::lock_guard lock(mutex_);
      for (int fd : clients_) ::shutdown(fd, SHUT_RDWR);
      workers.swap(workers_);
    }
    for (auto& thread : workers) thread.join();  // a sleeping one finishes its delay first
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

  /// Closes `client` and forgets it (the destructor shuts down only open ones). With `reset`,
  /// the peer gets a TCP RST instead of a FIN (SO_LINGER with a zero timeout).
  void close_client(int client, bool reset = false) {
    if (reset) {
      linger abort{.l_onoff = 1, .l_linger = 0};
      ::setsockopt(client, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
    }
    std::lock_guard lock(mutex_);
    std::erase(clients_, client);
    ::close(client);
  }

  void serve(int client) {
    std::string buffer;
    char chunk[4096];
    while (true) {
      auto header_end = buffer.find("\r\n\r\n");
      while (header_end == std::string::npos) {
        ssize_t got = ::recv(client, chunk, sizeof chunk, 0);
        if (got <= 0) {
          close_client(client);
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
          close_client(client);
          return;
        }
        buffer.append(chunk, static_cast<std::size_t>(got));
      }
      std::string body = buffer.substr(header_end + 4, length);
      buffer.erase(0, header_end + 4 + length);
      std::string line = head.substr(0, head.find("\r\n"));  // "POST /path HTTP/1.1"
      std::string method = line.substr(0, line.find(' '));
      std::string path = line.substr(method.size() + 1, line.rfind(' ') - method.size() - 1);
      if (path == "/reset") {  // the connection dies under this request, with no answer
        close_client(client, true);
        return;
      }

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

TEST(CurlMultiClientTest, HundredsOfRequestsInFlightAllComplete) {
  // More sockets than one epoll_wait returns at once (256), each answered after a delay.
  TinyServer server(200ms);
  CurlMultiClient client(CurlMultiOptions{.max_connections = 400, .max_host_connections = 0});
  constexpr int kRequests = 400;
  Outcomes outcomes(kRequests);
  for (int i = 0; i < kRequests; ++i) {
    client.submit(post(server.url("/m/" + std::to_string(i)), std::to_string(i)),
                  outcomes.callback());
  }
  auto results = outcomes.wait();
  ASSERT_EQ(results.size(), static_cast<std::size_t>(kRequests));
  std::set<std::string> bodies;
  for (const auto& result : results) {
    ASSERT_TRUE(result.has_value()) << result.error().message;
    EXPECT_EQ(result->status, 200);
    bodies.insert(result->body);
  }
  EXPECT_EQ(bodies.size(), static_cast<std::size_t>(kRequests)) << "every answer reached its own";
  EXPECT_GE(server.max_concurrent(), kRequests / 2) << "requests were not concurrent";
  EXPECT_EQ(client.in_flight(), 0U);
}

TEST(CurlMultiClientTest, TimeoutsFireOnTimeWhileOtherRequestsComplete) {
  TinyServer slow(3000ms);
  TinyServer fast(10ms);
  CurlMultiClient client;
  constexpr int kEach = 20;
  Outcomes outcomes(2 * kEach);
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < kEach; ++i) {
    client.submit(post(slow.url("/slow"), "", 150ms), outcomes.callback());
    client.submit(post(fast.url("/fast"), std::to_string(i)), outcomes.callback());
  }
  auto results = outcomes.wait();
  const auto waited = std::chrono::steady_clock::now() - started;
  ASSERT_EQ(results.size(), static_cast<std::size_t>(2 * kEach));
  int timeouts = 0;
  int answers = 0;
  for (const auto& result : results) {
    if (result.has_value()) {
      ++answers;
      EXPECT_EQ(result->status, 200);
    } else {
      ++timeouts;
      EXPECT_EQ(result.error().code, Errc::kTimeout) << result.error().message;
    }
  }
  EXPECT_EQ(timeouts, kEach);
  EXPECT_EQ(answers, kEach);
  // libcurl's timer drives the loop: the 150 ms timeouts fire long before the slow server's 3 s.
  EXPECT_LT(waited, 2000ms);
}

TEST(CurlMultiClientTest, AConnectionResetFailsOnlyItsRequest) {
  TinyServer server(100ms);
  CurlMultiClient client;
  constexpr int kOthers = 10;
  Outcomes outcomes(kOthers + 1);
  for (int i = 0; i < kOthers / 2; ++i) {
    client.submit(post(server.url("/ok"), std::to_string(i)), outcomes.callback());
  }
  client.submit(post(server.url("/reset"), "x"), outcomes.callback());
  for (int i = kOthers / 2; i < kOthers; ++i) {
    client.submit(post(server.url("/ok"), std::to_string(i)), outcomes.callback());
  }
  auto results = outcomes.wait();
  ASSERT_EQ(results.size(), static_cast<std::size_t>(kOthers + 1));
  int failed = 0;
  for (const auto& result : results) {
    if (!result) {
      ++failed;
      EXPECT_EQ(result.error().code, Errc::kUnavailable) << result.error().message;
      EXPECT_EQ(result.error().message.find("/reset"), std::string::npos) << "no path in errors";
      continue;
    }
    EXPECT_EQ(result->status, 200);
    EXPECT_EQ(result->body.rfind("POST /ok ", 0), 0U) << result->body;
  }
  EXPECT_EQ(failed, 1);
  // The client still works afterwards.
  Outcomes after(1);
  client.submit(post(server.url("/ok"), "after"), after.callback());
  auto last = after.wait();
  ASSERT_TRUE(last.at(0).has_value()) << last.at(0).error().message;
  EXPECT_EQ(last.at(0)->body, "POST /ok after");
}

TEST(CurlMultiClientTest, AnIdleLoopStartsANewRequestAtOnce) {
  // Each request is submitted while the loop sleeps (it waits up to 1 s when nothing is due): the
  // submit must wake it, or these 20 round trips would take about 20 s.
  TinyServer server(0ms);
  CurlMultiClient client;
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    Outcomes one(1);
    client.submit(post(server.url("/idle"), "x"), one.callback());
    auto results = one.wait();
    ASSERT_TRUE(results.at(0).has_value()) << results.at(0).error().message;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
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
