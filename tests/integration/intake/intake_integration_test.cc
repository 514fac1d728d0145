// otp-intake as a subprocess against the real Kafka of the local stack (OTP_TEST_KAFKA_BROKERS),
// spoken to over real HTTP (CurlHttpClient, or a raw socket where a misbehaving client is the
// point).
// A test thread plays the generator where a reply is needed. Every test has its own topic prefix.

#include "common/crypto/base64.h"
#include "common/crypto/key_ring.h"
#include "common/crypto/sealer.h"
#include "common/error/check.h"
#include "common/kafka/admin.h"
#include "common/kafka/consumer.h"
#include "common/kafka/producer.h"
#include "common/messages/messages.h"
#include "common/messages/topics.h"
#include "common/random/rng.h"
#include "common/schema/schema_validator.h"
#include "tests/support/log_tail.h"
#include "tests/support/send_http.h"
#include "tests/support/subprocess.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <netinet/in.h>
#include <optional>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace otp::intake {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

constexpr char kSealKeys[] = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
constexpr char kApiKey[] = "it-key";
constexpr char kApiSecret[] = "it-secret-0123456789";
constexpr char kVid[] = "otp_0123456789abcdef0123456789abcdef";

std::string random_suffix() {
  OpenSslRng rng;
  return random_hex(rng, 4);
}

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  OTP_CHECK(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  OTP_CHECK(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  socklen_t length = sizeof address;
  OTP_CHECK(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  ::close(fd);
  return ntohs(address.sin_port);
}

// ---- HTTP ------------------------------------------------------------------------------------

using test::HttpReply;
using test::send_http;

http::HeaderList auth_headers() {
  return {
      {"X-API-Key", kApiKey}, {"X-API-Secret", kApiSecret}, {"Content-Type", "application/json"}};
}

// ---- raw sockets ----------------------------------------------------------------------------

int connect_to(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  OTP_CHECK(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  OTP_CHECK(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  timeval receive_timeout{.tv_sec = 15, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &receive_timeout, sizeof receive_timeout);
  return fd;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const auto sent = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (sent <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(sent));
  }
  return true;
}

/// Everything the server sends until it closes the connection (or the receive timeout).
std::string read_until_closed(int fd) {
  std::string out;
  char buffer[4096];
  for (;;) {
    const auto got = ::recv(fd, buffer, sizeof buffer, 0);
    if (got <= 0) break;
    out.append(buffer, static_cast<std::size_t>(got));
  }
  return out;
}

// ---- the generator's side of Kafka ----------------------------------------------------------

/// Plays the generator: reads send and verify requests, answers each with the reply `answer`
/// builds (or none when it returns nullopt) on the partition named in the request's headers.
class FakeGenerator {
 public:
  using Answer = std::function<std::optional<messages::Reply>(const kafka::Record&)>;

  FakeGenerator(const kafka::KafkaSettings& settings, const messages::Topics& topics, Answer answer)
      : topics_(topics), answer_(std::move(answer)) {
    auto consumer = kafka::Consumer::create(settings, "it-generator-" + random_suffix());
    OTP_CHECK(consumer.has_value());
    consumer_ = std::move(*consumer);
    OTP_CHECK(consumer_->subscribe({topics.send_requests, topics.verify_requests}).has_value());
    auto producer = kafka::KafkaProducer::create(settings);
    OTP_CHECK(producer.has_value());
    producer_ = std::move(*producer);
    thread_ = std::jthread([this](const std::stop_token& stop) { run(stop); });
  }

  ~FakeGenerator() {
    thread_.request_stop();
    thread_.join();
    consumer_->close();
  }

  [[nodiscard]] std::vector<kafka::Record> seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }

  /// Waits until at least `count` requests were seen.
  bool wait_for(std::size_t count, std::chrono::milliseconds timeout) const {
    const auto deadline = SteadyClock::now() + timeout;
    while (SteadyClock::now() < deadline) {
      if (seen().size() >= count) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

 private:
  void run(const std::stop_token& stop) {
    while (!stop.stop_requested()) {
      auto polled = consumer_->poll(100ms);
      if (!polled || !*polled) continue;
      const kafka::Record& record = **polled;
      {
        std::lock_guard lock(mutex_);
        seen_.push_back(record);
      }
      auto reply = answer_(record);
      if (!reply) continue;
      reply->correlation_id = record.header(messages::kHeaderCorrelationId).value_or("");
      const auto partition =
          std::stoi(record.header(messages::kHeaderReplyPartition).value_or("0"));
      const kafka::OutboundRecord out{.topic = topics_.replies,
                                      .key = reply->correlation_id,
                                      .value = messages::encode(*reply),
                                      .headers = {},
                                      .partition = partition};
      const auto published =
          kafka::publish_and_wait(*producer_, std::span<const kafka::OutboundRecord>(&out, 1), 10s);
      if (!published)
        std::fprintf(stderr, "fake generator: %s\n", published.error().message.c_str());
    }
  }

  messages::Topics topics_;
  Answer answer_;
  std::unique_ptr<kafka::Consumer> consumer_;
  std::unique_ptr<kafka::KafkaProducer> producer_;
  mutable std::mutex mutex_;
  std::vector<kafka::Record> seen_;
  std::jthread thread_;
};

/// The generator's answer to a send: a pending verification with every reply field.
std::optional<messages::Reply> answer_pending(const kafka::Record& record) {
  auto request = messages::decode_send_requested(record.value);
  if (!request) return std::nullopt;
  messages::Reply reply;
  reply.request_id = request->request_id;
  reply.kind = messages::RequestKind::kSend;
  reply.tenant = request->tenant;
  reply.verification_id = request->verification_id;
  reply.outcome = messages::Outcome::kPending;
  reply.status = messages::Status::kPending;
  reply.attempts_remaining = 5;
  reply.expires_at = from_unix_ms(1'800'000'600'000);
  reply.channel = request->channel;
  reply.code_length = 6;
  return reply;
}

// ---- the intake under test ------------------------------------------------------------------

class IntakeIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* brokers = std::getenv("OTP_TEST_KAFKA_BROKERS");
    ASSERT_TRUE(brokers != nullptr && *brokers != '\0')
        << "OTP_TEST_KAFKA_BROKERS is not set. Start a stack (OTP_STACK_DIR=... OTP_PORT_BASE=... "
           "scripts/stack up --infra-only) and export its Kafka address, e.g. "
           "OTP_TEST_KAFKA_BROKERS=127.0.0.1:19092.";
    settings_ =
        kafka::KafkaSettings{.brokers = brokers, .client_id = "it-intake", .properties = {}};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    prefix_ = std::string("it-intake-") + random_suffix() + ".";
    topics_ = messages::Topics::with_prefix(prefix_);
    log_path_ =
        (std::filesystem::path(OTP_TEST_LOG_DIR) / (std::string(info->name()) + ".log")).string();
    std::filesystem::remove(log_path_);
  }

  void TearDown() override {
    if (intake_) {
      intake_->terminate();
      intake_.reset();
    }
    if (HasFailure()) test::print_log_tail(log_path_, 40);
  }

  void create_topics() {
    auto created = kafka::ensure_topics(settings_, topics_.specs(), 1, 30s);
    ASSERT_TRUE(created.has_value()) << created.error().message;
  }

  /// Starts otp-intake with only the replies topic: it gets ready, but a send request cannot be
  /// delivered, and librdkafka gives up within the (short) message timeout.
  void start_intake_without_request_topics() {
    auto created = kafka::ensure_topics(
        settings_,
        {messages::TopicSpec{.name = topics_.replies, .partitions = 8, .retention_ms = 0}}, 1, 30s);
    ASSERT_TRUE(created.has_value()) << created.error().message;
    start_intake(
        {{"OTP_REPLY_TIMEOUT_MS", "3000"}, {"OTP_KAFKA_PROPERTIES", "message.timeout.ms=1000"}});
  }

  /// Starts otp-intake with the test's topics and `overrides`; waits for `ready_path` to answer
  /// 200 (nothing when empty).
  void start_intake(std::vector<std::pair<std::string, std::string>> overrides = {},
                    const std::string& ready_path = "/readyz") {
    port_ = free_port();
    std::vector<std::pair<std::string, std::string>> env = {
        {"OTP_KAFKA_BROKERS", settings_.brokers},
        {"OTP_KAFKA_PROPERTIES", ""},
        {"OTP_TOPIC_PREFIX", prefix_},
        {"OTP_SEAL_KEYS", kSealKeys},
        {"OTP_DEV_TENANT", "acme"},
        {"OTP_DEV_API_KEY", kApiKey},
        {"OTP_DEV_API_SECRET", kApiSecret},
        {"OTP_HTTP_HOST", "127.0.0.1"},
        {"OTP_HTTP_PORT", std::to_string(port_)},
        {"OTP_INTAKE_INSTANCE", "3"},
        {"OTP_LOG_LEVEL", "debug"},
    };
    for (auto& [key, value] : overrides) {
      std::erase_if(env, [&](const auto& item) { return item.first == key; });
      env.emplace_back(key, value);
    }
    auto process = test::Subprocess::start({OTP_INTAKE_BIN}, env, log_path_);
    ASSERT_TRUE(process.has_value()) << process.error().message;
    intake_ = std::move(*process);
    if (ready_path.empty()) return;
    const auto deadline = SteadyClock::now() + 30s;
    while (SteadyClock::now() < deadline) {
      if (send_http("GET", url(ready_path), "", {}, 1s).status == 200) {
        ready_after_ = SteadyClock::now();
        return;
      }
      ASSERT_TRUE(intake_->running()) << "otp-intake exited; see " << log_path_;
      std::this_thread::sleep_for(50ms);
    }
    FAIL() << "otp-intake not ready within 30 s; see " << log_path_;
  }

  [[nodiscard]] std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  HttpReply post_send(const json& body) {
    return send_http("POST", url("/otp/send"), body.dump(), auth_headers());
  }

  static json send_body() {
    return {{"appid", "acme"}, {"recipient", "+14155552671"}, {"channel", "sms"}};
  }

  kafka::KafkaSettings settings_;
  std::string prefix_;
  messages::Topics topics_;
  std::string log_path_;
  std::uint16_t port_ = 0;
  std::optional<test::Subprocess> intake_;
  SteadyClock::time_point ready_after_;
};

TEST_F(IntakeIntegrationTest, SendAnsweredByTheGeneratorIs200WithTheReplyFields) {
  create_topics();
  start_intake({{"OTP_REPLY_TIMEOUT_MS", "15000"}});
  FakeGenerator generator(settings_, topics_, &answer_pending);

  const auto response = post_send(send_body());

  ASSERT_FALSE(response.error) << response.error->message;
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("content-type"), "application/json");
  auto body = response.body_json();
  EXPECT_EQ(body["success"], true);
  EXPECT_EQ(body["status"], "pending");
  EXPECT_EQ(body["channel"], "sms");
  EXPECT_EQ(body["recipient"], "+141******71");
  EXPECT_EQ(body["expires_at"], "2027-01-15T08:10:00.000Z");
  EXPECT_EQ(body["attempts_remaining"], 5);
  EXPECT_EQ(body["code_length"], 6);

  const auto seen = generator.seen();
  ASSERT_EQ(seen.size(), 1U);
  const auto& record = seen[0];
  EXPECT_EQ(record.topic, topics_.send_requests);
  EXPECT_EQ(record.key, "acme:+14155552671");
  EXPECT_EQ(record.header(messages::kHeaderReplyPartition), "3");
  EXPECT_EQ(record.header(messages::kHeaderCorrelationId).value_or("").size(), 36U);
  auto request = messages::decode_send_requested(record.value);
  ASSERT_TRUE(request.has_value()) << request.error().message;
  EXPECT_EQ(body["verification_id"], request->verification_id);
}

TEST_F(IntakeIntegrationTest, SendRightAfterReadyIsNotLost) {
  // The generator is already listening, so the reply comes at once: it must find the intake's
  // reply consumer positioned (a reply skipped at start-up would turn this 200 into a 202).
  create_topics();
  FakeGenerator generator(settings_, topics_, &answer_pending);
  start_intake({{"OTP_REPLY_TIMEOUT_MS", "15000"}});
  const auto response = post_send(send_body());
  EXPECT_EQ(response.status, 200) << response.body;
}

TEST_F(IntakeIntegrationTest, SendWithoutAGeneratorIs202AfterTheReplyTimeout) {
  create_topics();
  // Not much shorter: librdkafka learns a topic it has not produced to yet on its 1 s metadata
  // scan, so the first request after start-up may take that long to be acknowledged.
  start_intake({{"OTP_REPLY_TIMEOUT_MS", "1500"}});

  const auto response = post_send(send_body());

  EXPECT_EQ(response.status, 202) << response.body;
  EXPECT_GE(response.elapsed, 1450ms);
  EXPECT_LT(response.elapsed, 4s);
  auto body = response.body_json();
  EXPECT_EQ(body["success"], true);
  EXPECT_EQ(body["status"], "pending");
  EXPECT_TRUE(is_verification_id(body["verification_id"].get<std::string>()));
}

TEST_F(IntakeIntegrationTest, PreferRespondAsyncIs202AsSoonAsKafkaHasTheRequest) {
  create_topics();
  // A reply timeout far longer than the test may take: a 202 here can only come from the ack.
  start_intake({{"OTP_REPLY_TIMEOUT_MS", "30000"}});
  FakeGenerator generator(settings_, topics_, [](const kafka::Record&) {
    return std::optional<messages::Reply>();  // a generator that never answers
  });
  auto headers = auth_headers();
  headers.emplace_back("Prefer", "respond-async");

  const auto response = send_http("POST", url("/otp/send"), send_body().dump(), headers);

  ASSERT_FALSE(response.error) << response.error->message;
  EXPECT_EQ(response.status, 202) << response.body;
  EXPECT_LT(response.elapsed, 10s);
  EXPECT_EQ(response.header("preference-applied"), "respond-async");
  auto body = response.body_json();
  EXPECT_EQ(body["success"], true);
  EXPECT_EQ(body["status"], "pending");
  EXPECT_EQ(body["channel"], "sms");
  EXPECT_EQ(body["recipient"], "+141******71");

  // The request is in Kafka, under the answered id, and asks the generator for no reply.
  ASSERT_TRUE(generator.wait_for(1, 15s));
  const auto record = generator.seen().at(0);
  EXPECT_EQ(record.topic, topics_.send_requests);
  EXPECT_EQ(record.key, "acme:+14155552671");
  EXPECT_FALSE(record.header(messages::kHeaderCorrelationId).has_value());
  EXPECT_FALSE(record.header(messages::kHeaderReplyPartition).has_value());
  auto request = messages::decode_send_requested(record.value);
  ASSERT_TRUE(request.has_value()) << request.error().message;
  EXPECT_EQ(body["verification_id"], request->verification_id);

  // Resend takes the same path.
  const auto resend = send_http(
      "POST", url("/otp/resend"),
      json({{"appid", "acme"}, {"verification_id", request->verification_id}}).dump(), headers);
  EXPECT_EQ(resend.status, 202) << resend.body;
  EXPECT_LT(resend.elapsed, 10s);
  EXPECT_EQ(resend.header("preference-applied"), "respond-async");
  EXPECT_EQ(resend.body_json()["verification_id"], request->verification_id);
  ASSERT_TRUE(generator.wait_for(2, 15s));
  auto resent = messages::decode_send_requested(generator.seen().at(1).value);
  ASSERT_TRUE(resent.has_value());
  EXPECT_EQ(resent->action, messages::SendAction::kResend);
  EXPECT_FALSE(generator.seen().at(1).header(messages::kHeaderCorrelationId).has_value());
}

TEST_F(IntakeIntegrationTest, VerifyCarriesOnlyTheSealedCode) {
  create_topics();
  start_intake({{"OTP_REPLY_TIMEOUT_MS", "15000"}});
  FakeGenerator generator(settings_, topics_, [](const kafka::Record& record) {
    auto request = messages::decode_verify_requested(record.value);
    if (!request) return std::optional<messages::Reply>{};
    messages::Reply reply;
    reply.request_id = request->request_id;
    reply.kind = messages::RequestKind::kVerify;
    reply.tenant = request->tenant;
    reply.verification_id = request->verification_id;
    reply.outcome = messages::Outcome::kApproved;
    reply.status = messages::Status::kApproved;
    return std::optional<messages::Reply>(reply);
  });

  const auto response =
      send_http("POST", url("/otp/verify"),
                json({{"appid", "acme"}, {"verification_id", kVid}, {"otp_code", "482913"}}).dump(),
                auth_headers());

  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.body_json(),
            json({{"success", true}, {"verification_id", kVid}, {"status", "approved"}}));
  const auto seen = generator.seen();
  ASSERT_EQ(seen.size(), 1U);
  const auto& record = seen[0];
  EXPECT_EQ(record.topic, topics_.verify_requests);
  EXPECT_EQ(record.key, kVid);
  EXPECT_EQ(record.value.find("482913"), std::string::npos) << "clear code on Kafka";
  const auto payload = json::parse(record.value);
  EXPECT_FALSE(payload.contains("otp_code"));
  ASSERT_TRUE(payload.contains("otp_code_sealed"));
  auto keys = crypto::KeyRing::parse(kSealKeys);
  ASSERT_TRUE(keys.has_value());
  OpenSslRng rng;
  const crypto::Sealer sealer(*keys, rng);
  auto request = messages::decode_verify_requested(record.value);
  ASSERT_TRUE(request.has_value() && request->sealed_code.has_value());
  auto code = sealer.unseal(*request->sealed_code, kVid);
  ASSERT_TRUE(code.has_value()) << code.error().message;
  EXPECT_EQ(*code, "482913");
}

TEST_F(IntakeIntegrationTest, VerifyWithoutAGeneratorIs503WithRetryAfter) {
  create_topics();
  start_intake({{"OTP_REPLY_TIMEOUT_MS", "500"}});
  const auto response =
      send_http("POST", url("/otp/verify"),
                json({{"appid", "acme"}, {"verification_id", kVid}, {"otp_code", "482913"}}).dump(),
                auth_headers());
  EXPECT_EQ(response.status, 503) << response.body;
  EXPECT_EQ(response.header("retry-after"), "1");
  EXPECT_EQ(response.body_json()["error"]["code"], "unavailable");
}

TEST_F(IntakeIntegrationTest, TenMebibyteBodyIs413WithoutBeingRead) {
  create_topics();
  start_intake();
  const std::string huge(10 * 1024 * 1024, 'x');

  // The client announces the body with "Expect: 100-continue" (libcurl's own choice for a body
  // this large, which CurlHttpClient turns off, so the test asks for it) and gets the 413 instead.
  auto announced = auth_headers();
  announced.emplace_back("Expect", "100-continue");
  const auto response = send_http("POST", url("/otp/send"), huge, std::move(announced));
  ASSERT_FALSE(response.error) << response.error->message;
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(response.body_json()["error"]["code"], "invalid_request");
  EXPECT_LT(response.elapsed, 900ms) << "answered before the body (curl waits 1 s for 100)";

  // A client that sends headers and body at once still gets the 413, then a close.
  const int fd = connect_to(port_);
  const std::string head =
      "POST /otp/send HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(huge.size()) + "\r\n\r\n";
  ASSERT_TRUE(send_all(fd, head + huge.substr(0, 32 * 1024)));
  const std::string raw = read_until_closed(fd);
  ::close(fd);
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 413")) << raw.substr(0, 200);
  EXPECT_NE(raw.find("Connection: close"), std::string::npos);

  EXPECT_EQ(send_http("GET", url("/healthz")).status, 200) << "the server is fine afterwards";
}

TEST_F(IntakeIntegrationTest, SlowClientIsDisconnectedAndBlocksNobody) {
  create_topics();
  start_intake({{"OTP_HTTP_READ_TIMEOUT_MS", "2000"}});

  const int fd = connect_to(port_);
  const auto started = SteadyClock::now();
  std::atomic<bool> disconnected{false};
  std::chrono::milliseconds disconnected_after{0};
  std::jthread slow([&] {
    const std::string request =
        "GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Padding: aaaaaaaaaaaa\r\n\r\n";
    for (char c : request) {
      if (!send_all(fd, std::string_view(&c, 1))) break;
      pollfd poll_fd{.fd = fd, .events = POLLIN, .revents = 0};
      // Wait a second, but notice at once when the server hangs up (EOF or reset).
      if (::poll(&poll_fd, 1, 1000) > 0) break;
    }
    disconnected_after =
        std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started);
    disconnected = true;
  });

  // Meanwhile other clients are served at once.
  for (int i = 0; i < 3; ++i) {
    const auto response = send_http("GET", url("/healthz"));
    EXPECT_EQ(response.status, 200);
    EXPECT_LT(response.elapsed, 500ms);
    std::this_thread::sleep_for(300ms);
  }
  slow.join();
  ::close(fd);
  ASSERT_TRUE(disconnected.load());
  EXPECT_GE(disconnected_after, 1900ms);
  EXPECT_LT(disconnected_after, 4000ms) << "read timeout 2 s, checked every second";
}

TEST_F(IntakeIntegrationTest, UnknownRouteAndWrongMethodAnswerJson) {
  create_topics();
  start_intake();

  auto response = send_http("GET", url("/otp/nothing-here"));
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.header("content-type"), "application/json");
  EXPECT_EQ(response.body_json()["error"]["code"], "not_found");

  response = send_http("GET", url("/otp/send"));
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.header("allow"), "POST");
  EXPECT_EQ(response.header("content-type"), "application/json");
  EXPECT_EQ(response.body_json()["success"], false);

  response = send_http("DELETE", url("/healthz"));
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.header("allow"), "GET");
}

TEST_F(IntakeIntegrationTest, BadCredentialsAndBadInputOverHttp) {
  create_topics();
  start_intake();
  EXPECT_EQ(send_http("POST", url("/otp/send"), send_body().dump()).status, 401);
  EXPECT_EQ(send_http("POST", url("/otp/send"), send_body().dump(),
                      {{"X-API-Key", kApiKey}, {"X-API-Secret", "wrong"}})
                .status,
            401);
  EXPECT_EQ(send_http("POST", url("/otp/send"), "[1]", auth_headers()).status, 400);
  EXPECT_EQ(
      send_http("POST", url("/otp/send"), "{\"appid\":\"acme\xc3\x28\"}", auth_headers()).status,
      400);
  auto other = send_body();
  other["appid"] = "globex";
  EXPECT_EQ(post_send(other).status, 403);
}

TEST_F(IntakeIntegrationTest, UnpublishableRequestIs503Not202) {
  ASSERT_NO_FATAL_FAILURE(start_intake_without_request_topics());

  const auto response = post_send(send_body());

  EXPECT_EQ(response.status, 503) << response.body;
  EXPECT_EQ(response.header("retry-after"), "1");
  EXPECT_EQ(response.body_json()["error"]["code"], "unavailable");
}

TEST_F(IntakeIntegrationTest, PreferRespondAsyncUnpublishableRequestIs503Not202) {
  // The send request topic does not exist, so Kafka never acknowledges the request.
  ASSERT_NO_FATAL_FAILURE(start_intake_without_request_topics());
  auto headers = auth_headers();
  headers.emplace_back("Prefer", "respond-async");

  const auto response = send_http("POST", url("/otp/send"), send_body().dump(), headers);

  EXPECT_EQ(response.status, 503) << response.body;
  EXPECT_EQ(response.header("retry-after"), "1");
  EXPECT_FALSE(response.header("preference-applied").has_value());
  EXPECT_EQ(response.body_json()["error"]["code"], "unavailable");
}

TEST_F(IntakeIntegrationTest, KafkaUnreachableIs503NeverAccepted) {
  const auto closed_port = free_port();
  start_intake({{"OTP_KAFKA_BROKERS", "127.0.0.1:" + std::to_string(closed_port)},
                {"OTP_KAFKA_PROPERTIES", "message.timeout.ms=1000"},
                {"OTP_REPLY_TIMEOUT_MS", "1500"}},
               "/healthz");

  const auto ready = send_http("GET", url("/readyz"));
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(ready.body_json()["status"], "unavailable");

  const auto send = post_send(send_body());
  EXPECT_EQ(send.status, 503) << send.body;
  EXPECT_EQ(send.body_json()["error"]["code"], "unavailable");
  const auto verify =
      send_http("POST", url("/otp/verify"),
                json({{"appid", "acme"}, {"verification_id", kVid}, {"otp_code", "482913"}}).dump(),
                auth_headers());
  EXPECT_EQ(verify.status, 503) << verify.body;
}

TEST_F(IntakeIntegrationTest, SigtermStopsGracefullyWithExitCodeZero) {
  create_topics();
  start_intake({{"OTP_REPLY_TIMEOUT_MS", "2500"}});
  // One request still waiting for its reply when the signal comes: it gets its 202 first.
  std::optional<HttpReply> waiting;
  std::jthread client([&] { waiting = post_send(send_body()); });
  std::this_thread::sleep_for(300ms);
  const auto stopping = SteadyClock::now();
  intake_->terminate(15s);
  client.join();
  EXPECT_EQ(intake_->exit_status(), 0);
  EXPECT_LT(SteadyClock::now() - stopping, 10s);
  ASSERT_TRUE(waiting.has_value());
  EXPECT_EQ(waiting->status, 202) << waiting->body;
}

// ---- the primary API's other routes, operability and the OpenAPI document ---------------------

/// Plays the generator for resend, cancel and status: kVid exists for tenant acme (pending);
/// anything else, or another tenant, is not found. Sends are answered pending.
std::optional<messages::Reply> answer_actions(const kafka::Record& record) {
  auto request = messages::decode_send_requested(record.value);
  if (!request) return std::nullopt;
  messages::Reply reply;
  reply.request_id = request->request_id;
  reply.tenant = request->tenant;
  reply.verification_id = request->verification_id;
  const bool known = request->tenant == "acme" && request->verification_id == kVid;
  switch (request->action) {
    case messages::SendAction::kSend:
      return answer_pending(record);
    case messages::SendAction::kResend:
      reply.kind = messages::RequestKind::kResend;
      reply.outcome = known ? messages::Outcome::kPending : messages::Outcome::kNotFound;
      reply.attempts_remaining = 5;
      reply.channel = messages::Channel::kSms;
      reply.expires_at = from_unix_ms(1'800'000'600'000);
      reply.code_length = 6;
      reply.rate_limit_limit = 3;
      reply.rate_limit_remaining = 1;
      reply.rate_limit_reset_seconds = 540;
      return reply;
    case messages::SendAction::kCancel:
      reply.kind = messages::RequestKind::kCancel;
      reply.outcome = known ? messages::Outcome::kOk : messages::Outcome::kNotFound;
      reply.status = messages::Status::kCanceled;
      return reply;
    case messages::SendAction::kStatus:
      reply.kind = messages::RequestKind::kStatus;
      reply.outcome = known ? messages::Outcome::kOk : messages::Outcome::kNotFound;
      reply.attempts_remaining = 4;
      reply.channel = messages::Channel::kSms;
      reply.expires_at = from_unix_ms(1'800'000'600'000);
      return reply;
  }
  return std::nullopt;
}

json action(const std::string& vid = kVid) { return {{"appid", "acme"}, {"verification_id", vid}}; }

TEST_F(IntakeIntegrationTest, ResendCancelAndStatusRoundTripThroughKafka) {
  create_topics();
  FakeGenerator generator(settings_, topics_, answer_actions);
  start_intake({{"OTP_REPLY_TIMEOUT_MS", "15000"}});

  auto resend = send_http("POST", url("/otp/resend"), action().dump(), auth_headers());
  EXPECT_EQ(resend.status, 200) << resend.body;
  EXPECT_EQ(resend.body_json()["verification_id"], kVid);
  EXPECT_EQ(resend.body_json()["attempts_remaining"], 5);
  EXPECT_EQ(resend.header("ratelimit-limit"), "3");
  EXPECT_EQ(resend.header("ratelimit-remaining"), "1");
  EXPECT_EQ(resend.header("ratelimit-reset"), "540");

  auto status =
      send_http("GET", url(std::string("/otp/status?verification_id=") + kVid), "", auth_headers());
  EXPECT_EQ(status.status, 200) << status.body;
  EXPECT_EQ(status.body_json()["status"], "pending");
  EXPECT_EQ(status.body_json()["attempts_remaining"], 4);

  auto cancel = send_http("POST", url("/otp/cancel"), action().dump(), auth_headers());
  EXPECT_EQ(cancel.status, 200) << cancel.body;
  EXPECT_EQ(cancel.body_json()["status"], "canceled");

  const std::string unknown = "otp_ffffffffffffffffffffffffffffffff";
  EXPECT_EQ(
      send_http("GET", url("/otp/status?verification_id=" + unknown), "", auth_headers()).status,
      404);
  EXPECT_EQ(send_http("POST", url("/otp/cancel"), action(unknown).dump(), auth_headers()).status,
            404);

  // What went to Kafka: the action, the id, no recipient, keyed by tenant and id.
  ASSERT_TRUE(generator.wait_for(5, 5s));
  for (const auto& record : generator.seen()) {
    auto request = messages::decode_send_requested(record.value);
    ASSERT_TRUE(request.has_value());
    EXPECT_NE(request->action, messages::SendAction::kSend);
    EXPECT_TRUE(request->recipient.empty());
    EXPECT_EQ(record.key, "acme:" + request->verification_id);
  }
}

TEST_F(IntakeIntegrationTest, IdempotencyKeyReplaysTheSameVerification) {
  create_topics();
  FakeGenerator generator(settings_, topics_, answer_pending);
  start_intake({{"OTP_REPLY_TIMEOUT_MS", "15000"}});
  auto headers = auth_headers();
  headers.emplace_back("Idempotency-Key", "order-4711");

  const auto first = send_http("POST", url("/otp/send"), send_body().dump(), headers);
  const auto again = send_http("POST", url("/otp/send"), send_body().dump(), headers);
  auto other_headers = auth_headers();
  other_headers.emplace_back("Idempotency-Key", "order-4712");
  const auto other = send_http("POST", url("/otp/send"), send_body().dump(), other_headers);

  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(first.body_json()["verification_id"], again.body_json()["verification_id"]);
  EXPECT_NE(first.body_json()["verification_id"], other.body_json()["verification_id"]);
  ASSERT_TRUE(generator.wait_for(3, 5s));
  const auto seen = generator.seen();
  EXPECT_EQ(messages::decode_send_requested(seen[0].value)->request_id,
            messages::decode_send_requested(seen[1].value)->request_id);

  auto bad = auth_headers();
  bad.emplace_back("Idempotency-Key", std::string(200, 'k'));
  const auto refused = send_http("POST", url("/otp/send"), send_body().dump(), bad);
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(refused.body_json()["error"]["code"], "invalid_request");
}

TEST_F(IntakeIntegrationTest, HostileBodiesAre400NeverACrash) {
  create_topics();
  start_intake();
  const std::vector<std::string> bodies = {
      "{",                                      // malformed JSON
      "{\"appid\":\"acme\",}",                  // trailing comma
      "null",                                   // not an object
      std::string("{\"appid\":\"acme\xff\"}"),  // invalid UTF-8
      json({{"appid", "acme"}, {"recipient", 14155552671LL}, {"channel", "sms"}}).dump(),
      json({{"appid", "acme"}, {"recipient", "+14155552671"}, {"channel", true}}).dump(),
      json({{"appid", "acme"},
            {"recipient", "+14155552671"},
            {"channel", "sms"},
            {"code_length", "6"}})
          .dump(),
      json({{"appid", "acme"},
            {"recipient", "' OR 1=1; DROP TABLE verifications;--"},
            {"channel", "sms"}})
          .dump(),
      json({{"appid", "acme"},
            {"recipient", "a@b.c'; DELETE FROM api_keys;--"},
            {"channel", "email"}})
          .dump(),
      json({{"appid", "acme"}, {"recipient", "+14155552671"}, {"channel", "sms'--"}}).dump(),
      std::string(20000, '['),  // deep nesting, over the size limit
      "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]"
      "]]]]"
      "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
  };
  for (const auto& body : bodies) {
    const auto response = send_http("POST", url("/otp/send"), body, auth_headers());
    EXPECT_TRUE(response.status == 400 || response.status == 413)
        << response.status << " for " << body.substr(0, 60);
    EXPECT_EQ(response.body_json()["success"], false) << body.substr(0, 60);
  }
  EXPECT_EQ(send_http("POST", url("/otp/cancel"), "{\"appid\":\"acme\",\"verification_id\":[]}",
                      auth_headers())
                .status,
            400);
  EXPECT_EQ(
      send_http("GET", url("/otp/status?verification_id=otp_%27%20OR%201%3D1"), "", auth_headers())
          .status,
      400);
  EXPECT_EQ(send_http("GET", url("/healthz")).status, 200) << "still serving";
}

TEST_F(IntakeIntegrationTest, CorsAllowlistAnswersPreflightOnlyForListedOrigins) {
  create_topics();
  start_intake({{"OTP_CORS_ORIGINS", "https://app.example.com, http://localhost:3000"}});
  const http::HeaderList preflight = {{"Access-Control-Request-Method", "POST"},
                                      {"Access-Control-Request-Headers", "content-type"}};

  auto allowed = preflight;
  allowed.emplace_back("Origin", "https://app.example.com");
  auto response = send_http("OPTIONS", url("/otp/send"), "", allowed);
  EXPECT_EQ(response.status, 204);
  EXPECT_EQ(response.header("access-control-allow-origin"), "https://app.example.com");
  EXPECT_NE(response.header("access-control-allow-methods").value_or("").find("POST"),
            std::string::npos);
  EXPECT_NE(response.header("access-control-allow-headers").value_or("").find("Content-Type"),
            std::string::npos);

  auto denied = preflight;
  denied.emplace_back("Origin", "https://evil.example.com");
  response = send_http("OPTIONS", url("/otp/send"), "", denied);
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.header("access-control-allow-origin").value_or(""), "");

  response = send_http("GET", url("/healthz"), "", {{"Origin", "http://localhost:3000"}});
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("access-control-allow-origin"), "http://localhost:3000");
  response = send_http("GET", url("/healthz"), "", {{"Origin", "http://localhost:3001"}});
  EXPECT_EQ(response.header("access-control-allow-origin").value_or(""), "");
}

TEST_F(IntakeIntegrationTest, MetricsCountRequestsByRouteAndStatus) {
  create_topics();
  start_intake();
  send_http("GET", url("/nope"));
  send_http("POST", url("/otp/send"), "{", auth_headers());
  const auto response = send_http("GET", url("/metrics"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(
      response.body.find(R"(otp_http_requests_total{route="unknown",method="GET",status="404"} 1)"),
      std::string::npos)
      << response.body;
  EXPECT_NE(response.body.find(
                R"(otp_http_requests_total{route="/otp/send",method="POST",status="400"} 1)"),
            std::string::npos);
  EXPECT_NE(response.body.find("otp_http_request_duration_seconds_bucket{route=\"/otp/send\""),
            std::string::npos);
  // The scrape itself is in flight while it renders.
  EXPECT_NE(response.body.find("otp_http_requests_in_flight 1\n"), std::string::npos);
}

// ---- the OpenAPI document against the running server ------------------------------------------

json load_openapi() {
  std::ifstream in(std::filesystem::path(OTP_SOURCE_DIR) / "schemas/openapi/openapi.v1.json");
  return json::parse(in);
}

/// Checks response bodies against the schemas of schemas/openapi/openapi.v1.json with the
/// project's SchemaValidator: one small schema file per component, `$ref`-ing into a copy of
/// the whole document (draft 7: a root `$ref` is the schema).
class OpenApiChecker {
 public:
  explicit OpenApiChecker(json document) : document_(std::move(document)) {
    dir_ = std::filesystem::temp_directory_path() / ("otp-openapi-" + random_suffix());
    std::filesystem::create_directories(dir_);
    for (const auto& [name, schema] : document_["components"]["schemas"].items()) {
      json wrapper = {{"$schema", "http://json-schema.org/draft-07/schema#"},
                      {"$ref", "#/components/schemas/" + name},
                      {"components", {{"schemas", document_["components"]["schemas"]}}}};
      std::ofstream(dir_ / (name + ".json")) << wrapper.dump();
    }
    auto loaded = schema::SchemaValidator::load(dir_);
    OTP_CHECK(loaded.has_value());
    validator_.emplace(std::move(*loaded));
  }
  ~OpenApiChecker() { std::filesystem::remove_all(dir_); }
  OpenApiChecker(const OpenApiChecker&) = delete;
  OpenApiChecker& operator=(const OpenApiChecker&) = delete;

  /// Empty when `response` is documented for (path, method): its status is listed and its body
  /// matches that response's schema; otherwise what is wrong.
  std::string check(const std::string& path, const std::string& method,
                    const HttpReply& response) const {
    const auto operation = document_["paths"].value(path, json::object()).value(method, json());
    if (operation.is_null()) return method + " " + path + " is not documented";
    const auto status = std::to_string(response.status);
    const auto documented = operation["responses"].find(status);
    if (documented == operation["responses"].end()) {
      return method + " " + path + " answered undocumented " + status + ": " + response.body;
    }
    if (!documented->contains("content")) return "";
    const auto& content = (*documented)["content"];
    if (content.contains("application/json")) {
      const auto content_type = response.header("content-type").value_or("");
      if (content_type.find("application/json") != 0) {
        return method + " " + path + " " + status + ": content type " + content_type;
      }
      const std::string ref = content["application/json"]["schema"].value("$ref", "");
      const std::string name = ref.substr(ref.rfind('/') + 1);
      auto valid = validator_->validate(name + ".json", response.body);
      if (!valid) return method + " " + path + " " + status + ": " + valid.error().message;
    }
    return "";
  }

  [[nodiscard]] const json& document() const { return document_; }

 private:
  json document_;
  std::filesystem::path dir_;
  std::optional<schema::SchemaValidator> validator_;
};

/// `base64(key:secret)` of the test's dev key, for HTTP Basic.
std::string basic_credentials() {
  return crypto::base64_encode(std::string(kApiKey) + ":" + kApiSecret);
}

TEST_F(IntakeIntegrationTest, EveryRouteAnswersAsTheOpenApiDocumentSays) {
  create_topics();
  FakeGenerator generator(settings_, topics_, answer_actions);
  start_intake({{"OTP_REPLY_TIMEOUT_MS", "15000"},
                {"OTP_JWT_KEYS", "j1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="},
                {"OTP_TWILIO_AUTH_TOKEN", "twilio-test-token"},
                {"OTP_PUBLIC_BASE_URL", "http://127.0.0.1"},
                {"OTP_META_APP_SECRET", "meta-secret"},
                {"OTP_META_VERIFY_TOKEN", "meta-verify"}});
  const OpenApiChecker checker(load_openapi());
  const auto json_auth = auth_headers();
  auto async_auth = auth_headers();
  async_auth.emplace_back("Prefer", "respond-async");
  const std::string vid_query = std::string("?verification_id=") + kVid;

  struct Call {
    std::string method;  // lower case, as in the document
    std::string path;
    std::string query;
    std::string body;
    http::HeaderList headers;
    int expected;
  };
  const std::vector<Call> calls = {
      {"get", "/healthz", "", "", {}, 200},
      {"get", "/readyz", "", "", {}, 200},
      {"get", "/metrics", "", "", {}, 200},
      {"post", "/otp/send", "", send_body().dump(), json_auth, 200},
      {"post", "/otp/send", "", send_body().dump(), async_auth, 202},
      {"post", "/otp/send", "", "{}", json_auth, 400},
      {"post", "/otp/send", "", send_body().dump(), {}, 401},
      {"post", "/otp/send", "", std::string(20 * 1024, ' '), json_auth, 413},
      {"post", "/otp/verify", "", "{\"appid\":\"acme\"}", json_auth, 400},
      {"post", "/otp/resend", "", action().dump(), json_auth, 200},
      {"post", "/otp/resend", "", action("otp_ffffffffffffffffffffffffffffffff").dump(), json_auth,
       404},
      {"post", "/otp/resend", "", action().dump(), async_auth, 202},
      {"post", "/otp/cancel", "", action().dump(), json_auth, 200},
      {"post", "/otp/cancel", "", "{\"appid\":\"globex\",\"verification_id\":\"x\"}", json_auth,
       403},
      {"get", "/otp/status", vid_query, "", json_auth, 200},
      {"get", "/otp/status", "?verification_id=nope", "", json_auth, 400},
      {"get", "/otp/status", "?verification_id=otp_ffffffffffffffffffffffffffffffff", "", json_auth,
       404},
      // Routes of the other parts of the intake, in a success case each where no other process
      // is needed.
      {"post",
       "/oauth/token",
       "",
       "grant_type=client_credentials",
       {{"Authorization", "Basic " + basic_credentials()},
        {"Content-Type", "application/x-www-form-urlencoded"}},
       200},
      {"post", "/oauth/token", "", "grant_type=password", {}, 401},
      {"get",
       "/webhooks/meta",
       "?hub.mode=subscribe&hub.verify_token=meta-verify&hub.challenge=1158201444",
       "",
       {},
       200},
      {"get",
       "/webhooks/meta",
       "?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1",
       "",
       {},
       403},
      {"post",
       "/api/send-otp",
       "",
       "{\"phoneNumber\": 12}",
       {{"Content-Type", "application/json"}},
       400},
      {"post", "/send-otp", "", "{}", {{"Content-Type", "application/json"}}, 400},
  };
  for (const auto& call : calls) {
    std::string method = call.method;
    for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const auto response = send_http(method, url(call.path + call.query), call.body, call.headers);
    EXPECT_EQ(response.status, call.expected)
        << method << " " << call.path << ": " << response.body;
    EXPECT_EQ(checker.check(call.path, call.method, response), "");
  }

  // Every documented operation exists on the server (never the router's "no such route"), and
  // answers a request without credentials or body with one of its documented statuses and
  // bodies. Routes another part of the intake registers only when configured are started
  // configured above.
  for (const auto& [path, operations] : checker.document()["paths"].items()) {
    for (const auto& [method, operation] : operations.items()) {
      std::string upper = method;
      for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      const auto response = send_http(upper, url(path), upper == "POST" ? "{}" : "", {});
      const auto body = response.body_json();
      const bool no_route = response.status == 404 && body.is_object() && body.contains("error") &&
                            body["error"].value("message", "") == "no such route";
      EXPECT_FALSE(no_route) << upper << " " << path << " is documented but not served";
      EXPECT_NE(response.status, 405) << upper << " " << path;
      EXPECT_EQ(checker.check(path, method, response), "");
    }
  }
}

TEST_F(IntakeIntegrationTest, ReadinessNeedsPostgresWhenConfigured) {
  const char* pg_url = std::getenv("OTP_TEST_PG_URL");
  if (pg_url == nullptr || *pg_url == '\0') GTEST_SKIP() << "OTP_TEST_PG_URL is not set";
  create_topics();
  start_intake({{"OTP_PG_URL", pg_url}});  // waits for /readyz 200: PostgreSQL answered
  EXPECT_EQ(send_http("GET", url("/readyz")).status, 200);
  intake_->terminate();
  intake_.reset();

  const auto closed = free_port();
  start_intake({{"OTP_PG_URL", "postgresql://otp@127.0.0.1:" + std::to_string(closed) + "/otp"}},
               "/healthz");
  std::this_thread::sleep_for(1500ms);
  const auto response = send_http("GET", url("/readyz"));
  EXPECT_EQ(response.status, 503);
  EXPECT_NE(response.body_json().value("reason", "").find("PostgreSQL"), std::string::npos)
      << response.body;
  EXPECT_EQ(response.body.find(std::to_string(closed)), std::string::npos)
      << "a public route names no address";
}

}  // namespace
}  // namespace otp::intake
