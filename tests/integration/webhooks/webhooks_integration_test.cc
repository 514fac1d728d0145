// Provider status webhooks through a real otp-intake process: requests signed by an independent
// implementation (python3's hmac), tampered ones refused, and the delivery.status events read
// back from the stack's real Kafka.

#include "common/http/curl_http_client.h"
#include "common/kafka/admin.h"
#include "common/kafka/consumer.h"
#include "common/messages/messages.h"
#include "common/messages/topics.h"
#include "common/random/rng.h"
#include "tests/support/stack_env.h"
#include "tests/support/subprocess.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace otp {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using test::eventually;
using test::free_loopback_port;
using test::required_env;
using test::Subprocess;

constexpr char kTwilioToken[] = "it-twilio-token";
constexpr char kMetaSecret[] = "it-meta-secret";
constexpr char kVerifyToken[] = "it-verify-token";

/// Runs python3 with `script` and `args`; its first output line.
std::string python(const std::string& script, std::vector<std::string> args) {
  std::vector<std::string> argv = {OTP_PYTHON3, "-c", script};
  for (auto& arg : args) argv.push_back(std::move(arg));
  auto process = Subprocess::start(argv, {}, "");
  if (!process) {
    ADD_FAILURE() << process.error().message;
    return {};
  }
  auto line = process->read_line(10s);
  process->terminate(2s);
  return line.value_or("");
}

/// X-Twilio-Signature of a form body (key order as given) for `url`, by Python's hmac.
std::string python_twilio_signature(const std::string& url, const std::string& form) {
  return python(
      "import sys,hmac,hashlib,base64,urllib.parse\n"
      "p=urllib.parse.parse_qsl(sys.argv[3],keep_blank_values=True)\n"
      "s=sys.argv[2]+''.join(k+v for k,v in sorted(p))\n"
      "print(base64.b64encode(hmac.new(sys.argv[1].encode(),s.encode(),hashlib.sha1).digest())"
      ".decode())",
      {kTwilioToken, url, form});
}

std::string python_meta_signature(const std::string& body) {
  return python(
      "import sys,hmac,hashlib\n"
      "print('sha256='+hmac.new(sys.argv[1].encode(),sys.argv[2].encode(),hashlib.sha256)"
      ".hexdigest())",
      {kMetaSecret, body});
}

class WebhooksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    brokers_ = required_env("OTP_TEST_KAFKA_BROKERS");
    ASSERT_FALSE(HasFailure());
    OpenSslRng rng;
    const auto run = random_hex(rng, 4);
    prefix_ = "wh" + run + ".";
    topics_ = messages::Topics::with_prefix(prefix_);
    log_dir_ = std::filesystem::temp_directory_path() / ("otp-webhooks-" + run);
    std::filesystem::create_directories(log_dir_);
    auto created = kafka::ensure_topics({.brokers = brokers_, .client_id = "it", .properties = {}},
                                        topics_.specs(), 1, 30s);
    ASSERT_TRUE(created.has_value()) << created.error().message;

    port_ = free_loopback_port();
    base_url_ = "http://127.0.0.1:" + std::to_string(port_);
    auto intake =
        Subprocess::start({OTP_BINARY_DIR "/bin/otp-intake"},
                          {{"OTP_KAFKA_BROKERS", brokers_},
                           {"OTP_TOPIC_PREFIX", prefix_},
                           {"OTP_SEAL_KEYS", "s1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="},
                           {"OTP_HTTP_HOST", "127.0.0.1"},
                           {"OTP_HTTP_PORT", std::to_string(port_)},
                           {"OTP_DEV_API_KEY", "it-key"},
                           {"OTP_DEV_API_SECRET", "it-secret-0123456789"},
                           {"OTP_TWILIO_AUTH_TOKEN", kTwilioToken},
                           {"OTP_PUBLIC_BASE_URL", base_url_},
                           {"OTP_META_APP_SECRET", kMetaSecret},
                           {"OTP_META_VERIFY_TOKEN", kVerifyToken},
                           {"OTP_LOG_LEVEL", "debug"}},
                          (log_dir_ / "otp-intake.log").string());
    ASSERT_TRUE(intake.has_value()) << intake.error().message;
    intake_ = std::make_unique<Subprocess>(std::move(*intake));
    ASSERT_TRUE(eventually(60s,
                           [&] {
                             auto ready = http_.send(request("GET", "/readyz", ""));
                             return ready && ready->status == 200;
                           }))
        << "otp-intake not ready; log in " << log_dir_;

    auto consumer = kafka::Consumer::create(
        {.brokers = brokers_, .client_id = "it-events", .properties = {}}, "it-events-" + run);
    ASSERT_TRUE(consumer.has_value()) << consumer.error().message;
    consumer_ = std::move(*consumer);
    ASSERT_TRUE(consumer_->subscribe({topics_.events}).has_value());
  }

  void TearDown() override {
    if (consumer_) consumer_->close();
    if (intake_) {
      intake_->terminate(15s);
      EXPECT_EQ(intake_->exit_status().value_or(-1), 0) << "log in " << log_dir_;
    }
  }

  http::HttpRequest request(const std::string& method, const std::string& path_and_query,
                            std::string body, http::HeaderList headers = {}) {
    http::HttpRequest out;
    out.method = method;
    out.url = base_url_ + path_and_query;
    out.body = std::move(body);
    out.headers = std::move(headers);
    out.timeout = 15s;
    return out;
  }

  /// The events on the topic until `count` were read or 30 s passed.
  std::vector<messages::Event> read_events(std::size_t count) {
    std::vector<messages::Event> events;
    eventually(
        30s,
        [&] {
          auto record = consumer_->poll(100ms);
          if (record && *record) {
            auto event = messages::decode_event((*record)->value);
            EXPECT_TRUE(event.has_value()) << (*record)->value;
            if (event) events.push_back(*event);
            raw_.push_back((*record)->value);
          }
          return events.size() >= count;
        },
        1ms);
    return events;
  }

  std::string brokers_, base_url_, prefix_;
  int port_ = 0;
  messages::Topics topics_ = messages::Topics::with_prefix("x.");
  std::filesystem::path log_dir_;
  std::unique_ptr<Subprocess> intake_;
  std::unique_ptr<kafka::Consumer> consumer_;
  http::CurlHttpClient http_;
  std::vector<std::string> raw_;
};

TEST_F(WebhooksTest, TwilioCallbackSignedByPythonBecomesOneDeliveryStatusEvent) {
  const std::string form =
      "MessageSid=SMit0001&MessageStatus=undelivered&ErrorCode=30003&To=%2B14155552671&"
      "From=%2B15005550006&AccountSid=ACit&ApiVersion=2010-04-01";
  const std::string url = base_url_ + "/webhooks/twilio/status?source=it";
  const auto signature = python_twilio_signature(url, form);
  ASSERT_FALSE(signature.empty());

  // Tampered: one parameter changed after signing; and no signature at all. Refused, unpublished.
  auto tampered = http_.send(request(
      "POST", "/webhooks/twilio/status?source=it", form + "&Price=0",
      {{"Content-Type", "application/x-www-form-urlencoded"}, {"X-Twilio-Signature", signature}}));
  ASSERT_TRUE(tampered.has_value());
  EXPECT_EQ(tampered->status, 403) << tampered->body;
  EXPECT_EQ(json::parse(tampered->body)["error"]["code"], "forbidden");
  auto unsigned_request =
      http_.send(request("POST", "/webhooks/twilio/status?source=it", form,
                         {{"Content-Type", "application/x-www-form-urlencoded"}}));
  ASSERT_TRUE(unsigned_request.has_value());
  EXPECT_EQ(unsigned_request->status, 403);

  auto accepted = http_.send(request(
      "POST", "/webhooks/twilio/status?source=it", form,
      {{"Content-Type", "application/x-www-form-urlencoded"}, {"X-Twilio-Signature", signature}}));
  ASSERT_TRUE(accepted.has_value());
  EXPECT_EQ(accepted->status, 200) << accepted->body;
  // Twilio retries: a replay is accepted again and makes the same event id.
  auto replay = http_.send(request(
      "POST", "/webhooks/twilio/status?source=it", form,
      {{"Content-Type", "application/x-www-form-urlencoded"}, {"X-Twilio-Signature", signature}}));
  ASSERT_TRUE(replay.has_value());
  EXPECT_EQ(replay->status, 200);

  auto events = read_events(2);
  ASSERT_EQ(events.size(), 2U) << "log in " << log_dir_;
  EXPECT_EQ(events[0].type, "delivery.status");
  EXPECT_EQ(events[0].source, "otp-intake");
  EXPECT_EQ(events[0].tenant, "_provider");
  EXPECT_EQ(events[0].data, json({{"provider", "twilio"},
                                  {"provider_message_id", "SMit0001"},
                                  {"status", "undelivered"},
                                  {"error_code", "30003"}}));
  EXPECT_EQ(events[1].id, events[0].id);
  for (const auto& raw : raw_) EXPECT_EQ(raw.find("4155552671"), std::string::npos) << raw;
}

TEST_F(WebhooksTest, MetaHandshakeAndSignedStatuses) {
  auto handshake = http_.send(request(
      "GET",
      "/webhooks/meta?hub.mode=subscribe&hub.verify_token=it-verify-token&hub.challenge=4242", ""));
  ASSERT_TRUE(handshake.has_value());
  EXPECT_EQ(handshake->status, 200);
  EXPECT_EQ(handshake->body, "4242");
  auto wrong_token = http_.send(request(
      "GET", "/webhooks/meta?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=4242", ""));
  ASSERT_TRUE(wrong_token.has_value());
  EXPECT_EQ(wrong_token->status, 403);

  const std::string body =
      R"({"object":"whatsapp_business_account","entry":[{"id":"WABA","changes":[{"field":"messages",)"
      R"("value":{"messaging_product":"whatsapp","statuses":[)"
      R"({"id":"wamid.it1","status":"delivered","timestamp":"1763769600","recipient_id":"14155552671"},)"
      R"({"id":"wamid.it2","status":"failed","timestamp":"1763769601","recipient_id":"14155552671",)"
      R"("errors":[{"code":131026,"title":"Message undeliverable"}]}]}}]}]})";
  const auto signature = python_meta_signature(body);
  std::string tampered = body;
  tampered.replace(tampered.find("delivered"), 9, "read_____");
  auto refused = http_.send(
      request("POST", "/webhooks/meta", tampered,
              {{"Content-Type", "application/json"}, {"X-Hub-Signature-256", signature}}));
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 403);

  auto accepted = http_.send(
      request("POST", "/webhooks/meta", body,
              {{"Content-Type", "application/json"}, {"X-Hub-Signature-256", signature}}));
  ASSERT_TRUE(accepted.has_value());
  EXPECT_EQ(accepted->status, 200) << accepted->body;

  auto events = read_events(2);
  ASSERT_EQ(events.size(), 2U) << "log in " << log_dir_;
  std::map<std::string, json> by_id;
  for (const auto& event : events) by_id[event.data.value("provider_message_id", "")] = event.data;
  EXPECT_EQ(
      by_id["wamid.it1"],
      json({{"provider", "meta"}, {"provider_message_id", "wamid.it1"}, {"status", "delivered"}}));
  EXPECT_EQ(by_id["wamid.it2"]["error_code"], "131026");
  for (const auto& raw : raw_) EXPECT_EQ(raw.find("4155552671"), std::string::npos) << raw;
}

}  // namespace
}  // namespace otp
