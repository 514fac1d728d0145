#include "common/pg/pg_connection.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <chrono>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace otp::pg {
namespace {

using namespace std::chrono_literals;

TEST(WithConnectTimeout, AddsTheTimeoutToUrlsAndKeyValueStrings) {
  EXPECT_EQ(with_connect_timeout("postgresql://otp@127.0.0.1:5432/otp", 5s),
            "postgresql://otp@127.0.0.1:5432/otp?connect_timeout=5");
  EXPECT_EQ(with_connect_timeout("postgres://h/db?sslmode=disable", 7s),
            "postgres://h/db?sslmode=disable&connect_timeout=7");
  EXPECT_EQ(with_connect_timeout("host=h dbname=otp", 3s), "host=h dbname=otp connect_timeout=3");
  EXPECT_EQ(with_connect_timeout("", 3s), "connect_timeout=3");
}

TEST(WithConnectTimeout, KeepsTheCallersOwnTimeoutAndLibpqsMinimum) {
  EXPECT_EQ(with_connect_timeout("postgresql://h/db?connect_timeout=30", 5s),
            "postgresql://h/db?connect_timeout=30");
  EXPECT_EQ(with_connect_timeout("host=h connect_timeout=1", 5s), "host=h connect_timeout=1");
  // libpq treats 1 as 2; say what it will do.
  EXPECT_EQ(with_connect_timeout("host=h", 1s), "host=h connect_timeout=2");
}

// A server that takes the TCP connection but never answers the startup packet (a hung
// PostgreSQL, a half-open proxy): the call fails within the connect timeout instead of hanging
// the caller's thread. (Loopback only; the listening socket never accepts, the kernel completes
// the handshake from its backlog.)
TEST(PgConnection, AServerThatNeverAnswersFailsTheCallWithinTheConnectTimeout) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(listener, 8), 0);
  socklen_t length = sizeof address;
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const auto port = ntohs(address.sin_port);

  PgConnection db(
      config::Secret("postgresql://otp@127.0.0.1:" + std::to_string(port) + "/otp?sslmode=disable"),
      PgOptions{.application_name = "test", .connect_timeout = 2s});
  const auto started = std::chrono::steady_clock::now();
  auto result = db.connect();
  const auto took = std::chrono::steady_clock::now() - started;
  ::close(listener);
  ASSERT_FALSE(result.has_value());
  EXPECT_TRUE(result.error().is_retryable()) << result.error().message;
  // Generous: this asserts "does not hang", not a latency.
  EXPECT_LT(took, 20s);
}

}  // namespace
}  // namespace otp::pg
