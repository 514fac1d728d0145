// One OTP through every process, against the real Kafka, Redis and PostgreSQL of the test stack:
// HTTP send -> otp.send-requests -> otp-generator (Redis) -> otp.delivery.sms -> otp-delivery ->
// Twilio API (our fake) -> HTTP verify -> approved, with every lifecycle event in PostgreSQL.

#include "common/http/curl_http_client.h"
#include "common/kafka/admin.h"
#include "common/random/rng.h"
#include "tests/support/stack_env.h"
#include "tests/support/subprocess.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <regex>
#include <sstream>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace otp {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using test::eventually;
using test::free_loopback_port;
using test::required_env;
using test::Subprocess;

/// Whether `text` holds `code` as a number of its own, not as part of a longer hex/digit run
/// (random ids may contain any six digits by chance).
bool contains_code(const std::string& text, const std::string& code) {
  std::regex standalone("(^|[^0-9a-fA-F])" + code + "([^0-9a-fA-F]|$)");
  return std::regex_search(text, standalone);
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

http::HttpRequest request(std::string method, std::string url) {
  http::HttpRequest out;
  out.method = std::move(method);
  out.url = std::move(url);
  out.timeout = std::chrono::seconds(15);
  return out;
}

class OtpFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    brokers_ = required_env("OTP_TEST_KAFKA_BROKERS");
    redis_host_ = required_env("OTP_TEST_REDIS_HOST");
    redis_port_ = required_env("OTP_TEST_REDIS_PORT");
    pg_url_ = required_env("OTP_TEST_PG_URL");
    ASSERT_FALSE(HasFailure());

    OpenSslRng rng;
    auto run = random_hex(rng, 4);
    prefix_ = "e2e" + run + ".";
    tenant_ = "e2e_" + run;
    log_dir_ = std::filesystem::temp_directory_path() / ("otp-e2e-" + run);
    std::filesystem::create_directories(log_dir_);

    auto topics = kafka::ensure_topics({.brokers = brokers_, .client_id = "e2e", .properties = {}},
                                       messages::Topics::with_prefix(prefix_).specs(), 1, 30s);
    ASSERT_TRUE(topics.has_value()) << topics.error().message;

    auto fake = Subprocess::start({OTP_PYTHON3, OTP_FAKE_PROVIDERS_PY, "--port", "0",
                                   "--account-sid", kAccountSid, "--auth-token", kAuthToken},
                                  {}, (log_dir_ / "fake_providers.log").string());
    ASSERT_TRUE(fake.has_value()) << fake.error().message;
    fake_ = std::make_unique<Subprocess>(std::move(*fake));
    auto listening = fake_->read_line(10s);
    ASSERT_TRUE(listening && listening->rfind("LISTENING ", 0) == 0);
    fake_url_ = "http://127.0.0.1:" + listening->substr(10);

    http_port_ = free_loopback_port();
    std::vector<std::pair<std::string, std::string>> env = {
        {"OTP_KAFKA_BROKERS", brokers_},
        {"OTP_TOPIC_PREFIX", prefix_},
        {"OTP_LOG_LEVEL", "debug"},
        {"OTP_REDIS_HOST", redis_host_},
        {"OTP_REDIS_PORT", redis_port_},
        {"OTP_PG_URL", pg_url_},
        {"OTP_HMAC_KEYS", "h1:" + std::string(kKey)},
        {"OTP_SEAL_KEYS", "s1:" + std::string(kKey2)},
        {"OTP_HTTP_HOST", "127.0.0.1"},
        {"OTP_HTTP_PORT", std::to_string(http_port_)},
        {"OTP_REPLY_TIMEOUT_MS", "5000"},
        {"OTP_INTAKE_INSTANCE", "0"},
        {"OTP_DEV_TENANT", tenant_},
        {"OTP_DEV_API_KEY", kApiKey},
        {"OTP_DEV_API_SECRET", kApiSecret},
        {"OTP_SMS_PROVIDER", "twilio"},
        {"OTP_TWILIO_BASE_URL", fake_url_},
        {"OTP_TWILIO_ACCOUNT_SID", kAccountSid},
        {"OTP_TWILIO_AUTH_TOKEN", kAuthToken},
        {"OTP_TWILIO_FROM", "+15005550006"},
        {"OTP_AUDIT_BATCH_MS", "50"},
    };
    std::string bin = OTP_BINARY_DIR "/bin";
    start("otp-generator", {bin + "/otp-generator"}, env);
    start("otp-delivery-sms", {bin + "/otp-delivery", "--channel", "sms"}, env);
    start("otp-audit", {bin + "/otp-audit"}, env);
    start("otp-intake", {bin + "/otp-intake"}, env);
    ASSERT_FALSE(HasFailure());

    base_url_ = "http://127.0.0.1:" + std::to_string(http_port_);
    ASSERT_TRUE(eventually(60s,
                           [&] {
                             auto ready = http_.send(request("GET", base_url_ + "/readyz"));
                             return ready && ready->status == 200;
                           }))
        << "otp-intake did not become ready; logs in " << log_dir_;
  }

  void TearDown() override {
    // SIGTERM each service and require a clean exit: graceful shutdown is part of the contract.
    for (auto& [name, process] : services_) {
      process.terminate(15s);
      auto status = process.exit_status();
      EXPECT_TRUE(status.has_value() && *status == 0)
          << name << " did not exit cleanly on SIGTERM (status "
          << (status ? std::to_string(*status) : "none") << "); log " << log_dir_;
    }
    services_.clear();
    fake_.reset();
  }

  void start(const std::string& name, std::vector<std::string> argv,
             std::vector<std::pair<std::string, std::string>> env) {
    // A group of its own: suites running at the same time must not rebalance each other.
    env.emplace_back("OTP_CONSUMER_GROUP", prefix_ + name);
    auto process = Subprocess::start(std::move(argv), env, (log_dir_ / (name + ".log")).string());
    ASSERT_TRUE(process.has_value()) << name << ": " << process.error().message;
    services_.emplace_back(name, std::move(*process));
  }

  Result<http::HttpResponse> post(const std::string& path, const json& body) {
    auto out = request("POST", base_url_ + path);
    out.headers = {
        {"Content-Type", "application/json"}, {"X-API-Key", kApiKey}, {"X-API-Secret", kApiSecret}};
    out.body = body.dump();
    return http_.send(out);
  }

  /// The SMS bodies the fake Twilio received for `to`.
  std::vector<std::string> sms_bodies(const std::string& to) {
    std::vector<std::string> bodies;
    auto recorded = http_.send(request("GET", fake_url_ + "/_fake/requests"));
    if (!recorded || recorded->status != 200) return bodies;
    for (const auto& request : json::parse(recorded->body)) {
      if (request.value("provider", "") == "twilio" && request["form"].value("To", "") == to) {
        bodies.push_back(request["form"].value("Body", ""));
      }
    }
    return bodies;
  }

  std::vector<std::string> event_types(const std::string& verification_id) {
    pqxx::connection connection(pg_url_);
    pqxx::work tx(connection);
    std::vector<std::string> types;
    for (const auto& row :
         tx.exec_params("SELECT type FROM otp_events WHERE tenant = $1 AND verification_id = $2 "
                        "ORDER BY occurred_at, ingested_at",
                        tenant_, verification_id)) {
      types.push_back(row[0].as<std::string>());
    }
    return types;
  }

  static constexpr char kKey[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
  static constexpr char kKey2[] = "HxwdHhkaGxwVFhcYERITFA0ODxAJCgsMBQYHCAECAwQ=";
  static constexpr char kApiKey[] = "e2e-key";
  static constexpr char kApiSecret[] = "e2e-secret-0123456789";
  static constexpr char kAccountSid[] = "AC0123456789abcdef0123456789abcdef";
  static constexpr char kAuthToken[] = "e2e-twilio-token";

  std::string brokers_, redis_host_, redis_port_, pg_url_, prefix_, tenant_, fake_url_, base_url_;
  int http_port_ = 0;
  std::filesystem::path log_dir_;
  std::unique_ptr<Subprocess> fake_;
  std::vector<std::pair<std::string, Subprocess>> services_;
  http::CurlHttpClient http_;
};

TEST_F(OtpFlowTest, SendDeliverVerifyApproveAndAuditWithoutLeakingTheCode) {
  const std::string phone = "+14155552671";

  // Send. The first request may be answered 202 while the generator is still joining its group;
  // either way the verification id comes back and the code must arrive at the provider.
  auto sent = post("/otp/send", {{"appid", tenant_}, {"recipient", phone}, {"channel", "sms"}});
  ASSERT_TRUE(sent.has_value()) << sent.error().message;
  ASSERT_TRUE(sent->status == 200 || sent->status == 202) << sent->status << " " << sent->body;
  auto send_reply = json::parse(sent->body);
  ASSERT_TRUE(send_reply.value("success", false)) << sent->body;
  const std::string vid = send_reply.value("verification_id", "");
  ASSERT_TRUE(is_verification_id(vid)) << sent->body;
  if (sent->status == 200) {
    EXPECT_EQ(send_reply.value("status", ""), "pending");
    EXPECT_EQ(send_reply.value("attempts_remaining", 0), 5);
    EXPECT_EQ(send_reply.value("recipient", ""), "+141******71");
  }

  // The code arrives at the (fake) Twilio API.
  std::vector<std::string> bodies;
  ASSERT_TRUE(eventually(30s, [&] { return !(bodies = sms_bodies(phone)).empty(); }))
      << "no SMS reached the fake Twilio; logs in " << log_dir_;
  ASSERT_EQ(bodies.size(), 1U);
  std::smatch match;
  ASSERT_TRUE(std::regex_search(bodies[0], match, std::regex("\\b([0-9]{6})\\b"))) << "no code";
  const std::string code = match[1];
  const std::string wrong = code == "000000" ? "111111" : "000000";

  // A wrong code uses up an attempt.
  auto wrong_reply =
      post("/otp/verify", {{"appid", tenant_}, {"verification_id", vid}, {"otp_code", wrong}});
  ASSERT_TRUE(wrong_reply.has_value());
  EXPECT_EQ(wrong_reply->status, 400) << wrong_reply->body;
  auto wrong_json = json::parse(wrong_reply->body);
  EXPECT_EQ(wrong_json["error"].value("code", ""), "invalid_code");
  EXPECT_EQ(wrong_json.value("attempts_remaining", -1), 4);

  // The right code approves.
  auto approved =
      post("/otp/verify", {{"appid", tenant_}, {"verification_id", vid}, {"otp_code", code}});
  ASSERT_TRUE(approved.has_value());
  EXPECT_EQ(approved->status, 200) << approved->body;
  EXPECT_EQ(json::parse(approved->body).value("status", ""), "approved");

  // A code verifies at most once.
  auto again =
      post("/otp/verify", {{"appid", tenant_}, {"verification_id", vid}, {"otp_code", code}});
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->status, 409) << again->body;
  EXPECT_EQ(json::parse(again->body)["error"].value("code", ""), "already_verified");

  // Every lifecycle event reaches PostgreSQL, in order.
  const std::vector<std::string> expected = {"verification.created", "delivery.sent",
                                             "verification.check_failed", "verification.approved"};
  std::vector<std::string> types;
  ASSERT_TRUE(eventually(30s, [&] { return (types = event_types(vid)).size() >= 4; }))
      << "audit rows: " << types.size();
  // created and delivery.sent race only in wall-clock terms; both precede the checks.
  std::vector<std::string> first_two(types.begin(), types.begin() + 2);
  std::sort(first_two.begin(), first_two.end());
  EXPECT_EQ(first_two, (std::vector<std::string>{"delivery.sent", "verification.created"}));
  EXPECT_EQ(std::vector<std::string>(types.begin() + 2, types.end()),
            std::vector<std::string>(expected.begin() + 2, expected.end()));

  // The code is in no audit row and in no log line of any process.
  {
    pqxx::connection connection(pg_url_);
    pqxx::work tx(connection);
    for (const auto& row : tx.exec_params(
             "SELECT id || ' ' || type || ' ' || data::text FROM otp_events WHERE tenant = $1",
             tenant_)) {
      auto text = row[0].as<std::string>();
      EXPECT_FALSE(contains_code(text, code)) << "audit row holds the code: " << text;
      EXPECT_EQ(text.find(phone), std::string::npos) << "audit row holds the phone: " << text;
    }
  }
  for (auto& [name, process] : services_) process.terminate(15s);
  for (const auto& [name, process] : services_) {
    auto log = read_file(log_dir_ / (name + ".log"));
    EXPECT_FALSE(log.empty()) << name << " wrote no log";
    EXPECT_FALSE(contains_code(log, code)) << name << " logged the code";
    EXPECT_EQ(log.find(phone), std::string::npos) << name << " logged the full phone number";
  }
}

}  // namespace
}  // namespace otp
