// The compatibility routes of ../shared/COMPAT.md, every row, as a client of seed 000 or seed 002
// would call them: real HTTP to a real otp-intake, with otp-generator (Redis), otp-delivery
// (SMS -> the fake Twilio, email -> the outbox file) and PostgreSQL (tenant settings, directory)
// of the test stack. Each test has its own topic prefix, compat tenant and directory rows.

#include "common/http/curl_http_client.h"
#include "common/kafka/admin.h"
#include "common/messages/topics.h"
#include "common/random/rng.h"
#include "tests/support/fake_server.h"
#include "tests/support/stack_env.h"
#include "tests/support/subprocess.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace otp {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using test::eventually;
using test::free_loopback_port;
using test::required_env;
using test::Subprocess;

constexpr char kKey[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
constexpr char kKey2[] = "HxwdHhkaGxwVFhcYERITFA0ODxAJCgsMBQYHCAECAwQ=";
constexpr char kAccountSid[] = "AC0123456789abcdef0123456789abcdef";
constexpr char kAuthToken[] = "compat-twilio-token";
constexpr char kLocked[] = "User locked out due to exceeding maximum attempts.";

class CompatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    brokers_ = required_env("OTP_TEST_KAFKA_BROKERS");
    const auto redis_host = required_env("OTP_TEST_REDIS_HOST");
    const auto redis_port = required_env("OTP_TEST_REDIS_PORT");
    pg_url_ = required_env("OTP_TEST_PG_URL");
    ASSERT_FALSE(HasFailure());

    OpenSslRng rng;
    run_ = random_hex(rng, 4);
    const std::string prefix = "cp" + run_ + ".";
    tenant_ = "compat_" + run_;
    log_dir_ = std::filesystem::temp_directory_path() / ("otp-compat-" + run_);
    std::filesystem::create_directories(log_dir_);
    outbox_ = log_dir_ / "outbox.jsonl";

    // The compat tenant with seed 002's documented defaults (as 0006 + 0008 set up `compat`):
    // 30 s codes, 5 trials, a fixed 30 min lock; and seed 000's directory.
    {
      pqxx::connection connection(pg_url_);
      pqxx::work tx(connection);
      tx.exec_params(
          "INSERT INTO tenants (id, name, ttl_seconds, max_attempts, failure_lock_threshold, "
          "failure_lock_seconds, allowed_channels) "
          "VALUES ($1, 'compat test', 30, 5, 5, 1800, '{sms,email}')",
          tenant_);
      tx.exec_params("INSERT INTO directory (tenant_id, mobile, email) VALUES ($1, $2, $3)",
                     tenant_, "9657329173", "ap8548328@gmail.com");
      tx.commit();
    }

    auto topics = kafka::ensure_topics({.brokers = brokers_, .client_id = "it", .properties = {}},
                                       messages::Topics::with_prefix(prefix).specs(), 1, 30s);
    ASSERT_TRUE(topics.has_value()) << topics.error().message;

    auto fake =
        test::FakeProviders::start((log_dir_ / "fake_providers.log").string(),
                                   {"--account-sid", kAccountSid, "--auth-token", kAuthToken});
    ASSERT_TRUE(fake.has_value()) << fake.error().message;
    fake_ = std::make_unique<test::FakeProviders>(std::move(*fake));
    const std::string& fake_url = fake_->base_url();

    const int port = free_loopback_port();
    const std::vector<std::pair<std::string, std::string>> env = {
        {"OTP_KAFKA_BROKERS", brokers_},
        {"OTP_TOPIC_PREFIX", prefix},
        {"OTP_LOG_LEVEL", "debug"},
        {"OTP_REDIS_HOST", redis_host},
        {"OTP_REDIS_PORT", redis_port},
        {"OTP_PG_URL", pg_url_},
        {"OTP_HMAC_KEYS", "h1:" + std::string(kKey)},
        {"OTP_SEAL_KEYS", "s1:" + std::string(kKey2)},
        {"OTP_HTTP_HOST", "127.0.0.1"},
        {"OTP_HTTP_PORT", std::to_string(port)},
        {"OTP_REPLY_TIMEOUT_MS", "5000"},
        {"OTP_DEV_TENANT", "dev"},
        {"OTP_DEV_API_KEY", "compat-it-key"},
        {"OTP_DEV_API_SECRET", "compat-it-secret-0123456789"},
        {"OTP_COMPAT_TENANT", tenant_},
        {"OTP_COMPAT_DIRECTORY_CACHE_MS", "0"},
        {"OTP_COMPAT_DELIVERY_TIMEOUT_MS", "15000"},
        {"OTP_SMS_PROVIDER", "twilio"},
        {"OTP_TWILIO_BASE_URL", fake_url},
        {"OTP_TWILIO_ACCOUNT_SID", kAccountSid},
        {"OTP_TWILIO_AUTH_TOKEN", kAuthToken},
        {"OTP_TWILIO_FROM", "+15005550006"},
        {"OTP_EMAIL_PROVIDER", resend_email_ ? "resend" : "outbox"},
        {"OTP_OUTBOX_PATH", outbox_.string()},
        {"OTP_RESEND_BASE_URL", fake_url},
        {"OTP_RESEND_API_KEY", "re_fake_key"},
        {"OTP_RESEND_FROM", "OTP <otp@example.com>"},
        {"OTP_TENANT_SETTINGS", "postgres"},
        {"OTP_TENANT_REFRESH_MS", "200"},
    };
    const std::string bin = OTP_BINARY_DIR "/bin";
    start("otp-generator", {bin + "/otp-generator"}, env);
    start("otp-delivery-sms", {bin + "/otp-delivery", "--channel", "sms"}, env);
    start("otp-delivery-email", {bin + "/otp-delivery", "--channel", "email"}, env);
    start("otp-intake", {bin + "/otp-intake"}, env);
    ASSERT_FALSE(HasFailure());
    base_url_ = "http://127.0.0.1:" + std::to_string(port);
    ASSERT_TRUE(eventually(60s,
                           [&] {
                             auto ready = http_.send(request("GET", base_url_ + "/readyz", ""));
                             return ready && ready->status == 200;
                           }))
        << "otp-intake did not become ready; logs in " << log_dir_;
  }

  void TearDown() override {
    for (auto& [name, process] : services_) process.terminate(15s);
    services_.clear();
    fake_.reset();
    try {
      pqxx::connection connection(pg_url_);
      pqxx::work tx(connection);
      tx.exec_params("DELETE FROM directory WHERE tenant_id = $1", tenant_);
      tx.exec_params("DELETE FROM tenants WHERE id = $1", tenant_);
      tx.commit();
    } catch (const std::exception&) {  // best effort; tenant names are unique per run
    }
  }

  void start(const std::string& name, std::vector<std::string> argv,
             std::vector<std::pair<std::string, std::string>> env) {
    // A group of its own: suites running at the same time must not rebalance each other.
    env.emplace_back("OTP_CONSUMER_GROUP", "cp" + run_ + "." + name);
    auto process = Subprocess::start(std::move(argv), env, (log_dir_ / (name + ".log")).string());
    ASSERT_TRUE(process.has_value()) << name << ": " << process.error().message;
    services_.emplace_back(name, std::move(*process));
  }

  static http::HttpRequest request(std::string method, std::string url, std::string body) {
    http::HttpRequest out;
    out.method = std::move(method);
    out.url = std::move(url);
    out.body = std::move(body);
    out.headers = {{"Content-Type", "application/json"}};
    out.timeout = 30s;
    return out;
  }

  /// POSTs `body` (raw text) to `path`; the status and the JSON body (null if not JSON).
  std::pair<long, json> post(const std::string& path, const std::string& body) {
    auto response = http_.send(request("POST", base_url_ + path, body));
    EXPECT_TRUE(response.has_value());
    if (!response) return {0, nullptr};
    return {response->status, json::parse(response->body, nullptr, false)};
  }

  /// The latest code the fake Twilio received for `to` (waits up to 30 s for `count` SMS).
  std::string sms_code(const std::string& to, std::size_t count) {
    std::vector<std::string> bodies;
    eventually(30s, [&] {
      bodies.clear();
      for (const auto& r : fake_->requests()) {
        if (r.value("provider", "") == "twilio" && r["form"].value("To", "") == to) {
          bodies.push_back(r["form"].value("Body", ""));
        }
      }
      return bodies.size() >= count;
    });
    if (bodies.size() < count) return {};
    std::smatch match;
    if (!std::regex_search(bodies.back(), match, std::regex("\\b([0-9]{6})\\b"))) return {};
    return match[1];
  }

  /// The latest code the outbox holds for `to`.
  std::string outbox_code(const std::string& to) {
    std::ifstream in(outbox_);
    std::string line, code;
    while (std::getline(in, line)) {
      auto entry = json::parse(line, nullptr, false);
      if (!entry.is_object() || entry.value("to", "") != to) continue;
      std::smatch match;
      const std::string body = entry.value("body", "");
      if (std::regex_search(body, match, std::regex("\\b([0-9]{6})\\b"))) code = match[1];
    }
    return code;
  }

  static std::string wrong(const std::string& code) {
    return code == "000000" ? "111111" : "000000";
  }

  static std::string verify_body(const std::string& phone, const std::string& code) {
    return json({{"user", {{"phoneNumber", phone}}}, {"code", code}}).dump();
  }

  /// Email through the fake Resend API instead of the outbox (set by a derived fixture).
  bool resend_email_ = false;
  std::string brokers_, pg_url_, run_, tenant_, base_url_;
  std::filesystem::path log_dir_, outbox_;
  std::unique_ptr<test::FakeProviders> fake_;
  std::vector<std::pair<std::string, Subprocess>> services_;
  http::CurlHttpClient http_;
};

// ---- seed 002 ---------------------------------------------------------------------------------

TEST_F(CompatTest, Seed002MalformedRequestsAre400) {
  for (const char* body :
       {"not json", "[]", "{}", R"({"phoneNumber":""})", R"({"phoneNumber":14155552671})",
        R"({"phoneNumber":"4155552671"})", R"({"phoneNumber":"+1 415 555 2671"})"}) {
    auto [status, reply] = post("/api/send-otp", body);
    EXPECT_EQ(status, 400) << body;
    EXPECT_EQ(reply, json({{"code", 400}, {"message", "Invalid request body"}})) << body;
  }
  for (const char* body :
       {"nope", R"({"code":"123456"})", R"({"user":{"phoneNumber":"+14155552671"}})",
        R"({"user":{"phoneNumber":"+14155552671"},"code":123456})"}) {
    auto [status, reply] = post("/api/verify-otp", body);
    EXPECT_EQ(status, 400) << body;
    EXPECT_EQ(reply, json({{"code", 400}, {"message", "Invalid request body"}})) << body;
  }
}

TEST_F(CompatTest, Seed002SendVerifyWrongThenRightSingleUse) {
  const std::string phone = "+14155550111";
  auto [sent_status, sent] = post("/api/send-otp", json({{"phoneNumber", phone}}).dump());
  ASSERT_EQ(sent_status, 200) << sent.dump() << " logs " << log_dir_;
  EXPECT_EQ(sent, json({{"code", 200}, {"message", "OTP send successfully."}, {"data", 5}}));
  const auto code = sms_code(phone, 1);
  ASSERT_FALSE(code.empty()) << "no SMS at the fake Twilio; logs " << log_dir_;

  auto [wrong_status, wrong_reply] = post("/api/verify-otp", verify_body(phone, wrong(code)));
  EXPECT_EQ(wrong_status, 401) << wrong_reply.dump() << " logs " << log_dir_;
  EXPECT_EQ(wrong_reply,
            json({{"code", 401}, {"message", "Incorrect OTP/ OTP Expired"}, {"data", 4}}));

  auto [ok_status, ok_reply] = post("/api/verify-otp", verify_body(phone, code));
  EXPECT_EQ(ok_status, 200) << ok_reply.dump();
  EXPECT_EQ(
      ok_reply,
      json({{"code", 200}, {"message", "OTP verified successfully."}, {"data", json::object()}}));

  // Single use; and success reset the trials: the next send reports all 5 again.
  auto [again_status, again] = post("/api/verify-otp", verify_body(phone, code));
  EXPECT_EQ(again_status, 401) << again.dump();
  auto [resent_status, resent] = post("/api/send-otp", json({{"phoneNumber", phone}}).dump());
  EXPECT_EQ(resent_status, 200) << resent.dump();
  EXPECT_EQ(resent.value("data", -1), 5);
}

TEST_F(CompatTest, Seed002TrialsSurviveAResendAndTheLastOneLocksOut) {
  const std::string phone = "+14155550122";
  ASSERT_EQ(post("/api/send-otp", json({{"phoneNumber", phone}}).dump()).first, 200);
  const auto first = sms_code(phone, 1);
  ASSERT_FALSE(first.empty()) << "logs " << log_dir_;
  for (int left : {4, 3}) {
    auto [status, reply] = post("/api/verify-otp", verify_body(phone, wrong(first)));
    EXPECT_EQ(status, 401) << reply.dump();
    EXPECT_EQ(reply.value("data", -1), left) << reply.dump();
  }
  // A resend (seed 002: send again) does not restore the trials.
  auto [resent_status, resent] = post("/api/send-otp", json({{"phoneNumber", phone}}).dump());
  ASSERT_EQ(resent_status, 200) << resent.dump();
  EXPECT_EQ(resent.value("data", -1), 3) << "trials restored by a resend: " << resent.dump();
  const auto second = sms_code(phone, 2);
  ASSERT_FALSE(second.empty());
  for (int left : {2, 1}) {
    auto [status, reply] = post("/api/verify-otp", verify_body(phone, wrong(second)));
    EXPECT_EQ(status, 401) << reply.dump();
    EXPECT_EQ(reply.value("data", -1), left) << reply.dump();
  }
  // The failure that uses the last trial locks out for otp-lock-timeout (30 min) ...
  const json lockout = {{"code", 403}, {"message", kLocked}, {"data", {{"lockout_duration", 30}}}};
  auto [last_status, last] = post("/api/verify-otp", verify_body(phone, wrong(second)));
  EXPECT_EQ(last_status, 403) << last.dump();
  EXPECT_EQ(last, lockout);
  // ... and so does every request while locked, the right code and a new send included.
  auto [right_status, right] = post("/api/verify-otp", verify_body(phone, second));
  EXPECT_EQ(right_status, 403) << right.dump();
  EXPECT_EQ(right, lockout);
  auto [send_status, send] = post("/api/send-otp", json({{"phoneNumber", phone}}).dump());
  EXPECT_EQ(send_status, 403) << send.dump();
  EXPECT_EQ(send, lockout);
}

TEST_F(CompatTest, Seed002ExpiredCodeIs401) {
  const std::string phone = "+14155550133";
  ASSERT_EQ(post("/api/send-otp", json({{"phoneNumber", phone}}).dump()).first, 200);
  const auto code = sms_code(phone, 1);
  ASSERT_FALSE(code.empty()) << "logs " << log_dir_;
  // The tenant's TTL (seed 002's otp-timeout, 30 s) and a margin.
  std::this_thread::sleep_for(31s);
  auto [status, reply] = post("/api/verify-otp", verify_body(phone, code));
  EXPECT_EQ(status, 401) << reply.dump();
  EXPECT_EQ(reply.value("message", ""), "Incorrect OTP/ OTP Expired");
}

TEST_F(CompatTest, Seed002InternalFailureIs500) {
  // No generator: the request is published but never answered within OTP_REPLY_TIMEOUT_MS.
  services_.front().second.terminate(15s);
  ASSERT_EQ(services_.front().first, "otp-generator");
  auto [status, reply] = post("/api/send-otp", json({{"phoneNumber", "+14155550144"}}).dump());
  EXPECT_EQ(status, 500) << reply.dump();
  EXPECT_EQ(reply, json({{"code", 500}, {"message", "Internal server error occurred."}}));
  auto [verify_status, verify] = post("/api/verify-otp", verify_body("+14155550144", "123456"));
  EXPECT_EQ(verify_status, 500) << verify.dump();
}

// ---- seed 000 ---------------------------------------------------------------------------------

TEST_F(CompatTest, Seed000RequestAndDirectoryRows) {
  struct Row {
    const char* body;
    long status;
    const char* message;
  };
  for (const Row& row : {Row{"not json", 400, "Invalid JSON body"},
                         Row{"[\"9657329173\"]", 400, "Invalid JSON body"},
                         Row{"{}", 400, "Mobile number is required"},
                         Row{R"({"mobile":""})", 400, "Mobile number is required"},
                         Row{R"({"mobile":"9000000000"})", 404, "Mobile number not registered"}}) {
    auto [status, reply] = post("/send-otp", row.body);
    EXPECT_EQ(status, row.status) << row.body;
    EXPECT_EQ(reply, json({{"success", false}, {"message", row.message}})) << row.body;
  }
}

TEST_F(CompatTest, Seed000SendWaitsForTheEmailThenVerifies) {
  auto [status, reply] = post("/send-otp", R"({"mobile":"9657329173"})");
  ASSERT_EQ(status, 200) << reply.dump() << " (needs the delivery reply: requests G5 to gen and "
                         << "the delivery worker's side to engine); logs " << log_dir_;
  EXPECT_EQ(reply.value("success", false), true);
  EXPECT_EQ(reply.value("email", ""), "a******8@gmail.com");
  EXPECT_EQ(reply.value("mobile", ""), "9657329173");
  EXPECT_EQ(reply.value("message", ""), "OTP sent");
  EXPECT_TRUE(is_verification_id(reply.value("verification_id", ""))) << reply.dump();
  // Answered after the delivery: the code is in the outbox already.
  const auto code = outbox_code("ap8548328@gmail.com");
  ASSERT_FALSE(code.empty());

  auto [wrong_status, wrong_reply] =
      post("/verify-otp", json({{"mobile", "9657329173"}, {"otp", wrong(code)}}).dump());
  EXPECT_EQ(wrong_status, 401) << wrong_reply.dump();
  EXPECT_EQ(wrong_reply, json({{"success", false}, {"message", "Invalid or expired OTP"}}));
  auto [ok_status, ok_reply] =
      post("/verify-otp", json({{"mobile", "9657329173"}, {"otp", code}}).dump());
  EXPECT_EQ(ok_status, 200) << ok_reply.dump();
  EXPECT_EQ(ok_reply, json({{"success", true}, {"message", "OTP verified"}}));

  // A tenant that reveals contacts gets the address in clear.
  {
    pqxx::connection connection(pg_url_);
    pqxx::work tx(connection);
    tx.exec_params("UPDATE tenants SET reveal_contacts = true WHERE id = $1", tenant_);
    tx.commit();
  }
  auto [clear_status, clear] = post("/send-otp", R"({"mobile":"9657329173"})");
  EXPECT_EQ(clear_status, 200) << clear.dump();
  EXPECT_EQ(clear.value("email", ""), "ap8548328@gmail.com");
}

TEST_F(CompatTest, Seed000TooManyAttemptsIs429) {
  auto [status, reply] = post("/send-otp", R"({"mobile":"9657329173"})");
  ASSERT_EQ(status, 200) << reply.dump() << " logs " << log_dir_;
  const auto code = outbox_code("ap8548328@gmail.com");
  ASSERT_FALSE(code.empty());
  const auto bad = json({{"mobile", "9657329173"}, {"otp", wrong(code)}}).dump();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(post("/verify-otp", bad).first, 401);
  auto [last_status, last] = post("/verify-otp", bad);
  EXPECT_EQ(last_status, 429) << last.dump();
  EXPECT_EQ(last, json({{"success", false}, {"message", "Too many attempts"}}));
}

/// Seed 000's 500 row: the email provider refuses the message for good.
class CompatResendTest : public CompatTest {
 protected:
  CompatResendTest() { resend_email_ = true; }
};

TEST_F(CompatResendTest, Seed000ProviderRefusalIs500WithTheReason) {
  ASSERT_FALSE(
      fake_->control("POST", "/_fake/behaviour", {{"provider", "resend"}, {"statuses", {422}}})
          .is_null());
  auto [status, reply] = post("/send-otp", R"({"mobile":"9657329173"})");
  EXPECT_EQ(status, 500) << reply.dump() << " logs " << log_dir_;
  EXPECT_EQ(reply.value("success", true), false);
  const std::string message = reply.value("message", "");
  EXPECT_EQ(message.rfind("Failed to send email: ", 0), 0U) << message;
  EXPECT_GT(message.size(), std::string("Failed to send email: ").size());
  EXPECT_EQ(message.find("re_fake_key"), std::string::npos) << message;
}

}  // namespace
}  // namespace otp
