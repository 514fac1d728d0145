// The real otp-delivery binary with the issue-5 providers, black-box through the stack's Kafka:
// WhatsApp through Meta's authentication template with failover to Twilio WhatsApp, SMS through
// Vonage with a tenant template from PostgreSQL, email through SMTP with STARTTLS.
// Needs OTP_TEST_KAFKA_BROKERS and OTP_TEST_PG_URL (migration 0007).

#include "common/crypto/key_ring.h"
#include "common/crypto/sealer.h"
#include "common/kafka/admin.h"
#include "common/kafka/consumer.h"
#include "common/kafka/producer.h"
#include "common/messages/messages.h"
#include "common/messages/topics.h"
#include "common/pg/pg_connection.h"
#include "common/random/rng.h"
#include "tests/support/fake_server.h"
#include "tests/support/stack_env.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>

namespace otp {
namespace {

using namespace std::chrono_literals;
using test::Subprocess;
using ::testing::HasSubstr;

constexpr char kSealKeys[] = "s1:AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=";

std::string unique(const std::string& prefix) {
  return prefix + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000007);
}

class DeliveryProvidersE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    brokers_ = test::required_env("OTP_TEST_KAFKA_BROKERS");
    pg_url_ = test::required_env("OTP_TEST_PG_URL");
    ASSERT_FALSE(HasFailure());
    prefix_ = unique("it-prov") + ".";
    topics_ = messages::Topics::with_prefix(prefix_);
    settings_ = kafka::KafkaSettings{.brokers = brokers_, .client_id = "it-prov", .properties = {}};
    ASSERT_TRUE(kafka::ensure_topics(settings_, topics_.specs(), 1, 30s).has_value());
    auto producer = kafka::KafkaProducer::create(settings_);
    ASSERT_TRUE(producer.has_value());
    producer_ = std::move(*producer);
    auto reader = kafka::Consumer::create(settings_, unique("it-prov-reader"));
    ASSERT_TRUE(reader.has_value());
    reader_ = std::move(*reader);
    ASSERT_TRUE(reader_->subscribe({topics_.events}));
    keys_.emplace(*crypto::KeyRing::parse(kSealKeys));
    sealer_.emplace(*keys_, rng_);

    dir_ = std::filesystem::path(::testing::TempDir()) / unique("otp-prov");
    std::filesystem::create_directories(dir_);
    auto fake = test::FakeProviders::start(
        (std::filesystem::path(OTP_TEST_LOG_DIR) / "fake_providers.log").string());
    ASSERT_TRUE(fake.has_value()) << fake.error().message;
    fake_ = std::make_unique<test::FakeProviders>(std::move(*fake));

    tenant_ = unique("tpl-e2e");
    db_ = std::make_unique<pg::PgConnection>(config::Secret(pg_url_), pg::PgOptions{});
    ASSERT_TRUE(db_->exec("INSERT INTO tenants (id, name) VALUES ($1, 'e2e')", {tenant_}));
  }

  void TearDown() override {
    workers_.clear();
    if (db_) static_cast<void>(db_->exec("DELETE FROM tenants WHERE id = $1", {tenant_}));
    if (reader_) reader_->close();
  }

  void start_worker(const std::string& channel,
                    std::vector<std::pair<std::string, std::string>> extra) {
    std::vector<std::pair<std::string, std::string>> env = {
        {"OTP_KAFKA_BROKERS", brokers_},
        {"OTP_TOPIC_PREFIX", prefix_},
        {"OTP_CONSUMER_GROUP", unique("it-prov-" + channel)},
        {"OTP_SEAL_KEYS", kSealKeys},
        {"OTP_PG_URL", pg_url_},
        {"OTP_TEMPLATE_REFRESH_MS", "500"},
        {"OTP_BRAND", "Acme"},
        {"OTP_PROVIDER_TIMEOUT_MS", "5000"},
        {"OTP_DELIVERY_BACKOFF_INITIAL_MS", "100"},
        {"OTP_DELIVERY_BACKOFF_MAX_MS", "300"},
        {"OTP_LOG_LEVEL", "info"}};
    env.insert(env.end(), extra.begin(), extra.end());
    auto process = Subprocess::start({OTP_DELIVERY_BIN, "--channel", channel}, env,
                                     (dir_ / ("otp-delivery-" + channel + ".log")).string());
    ASSERT_TRUE(process.has_value()) << process.error().message;
    workers_.push_back(std::make_unique<Subprocess>(std::move(*process)));
  }

  messages::DeliveryJob job(messages::Channel channel, std::string recipient, std::string locale) {
    const std::string vid = "otp_" + random_hex(rng_, 16);
    const auto now = std::chrono::system_clock::now();
    return messages::DeliveryJob{.job_id = vid + ":1",
                                 .tenant = tenant_,
                                 .verification_id = vid,
                                 .channel = channel,
                                 .recipient = std::move(recipient),
                                 .sealed_code = sealer_->seal("482913", vid),
                                 .code_length = 6,
                                 .locale = std::move(locale),
                                 .expires_at = now + 10min,
                                 .deadline = now + 9min,
                                 .attempt = 0};
  }

  void publish(const messages::DeliveryJob& j) {
    std::vector<kafka::OutboundRecord> records = {{.topic = topics_.delivery(j.channel),
                                                   .key = j.verification_id,
                                                   .value = messages::encode(j),
                                                   .headers = {},
                                                   .partition = std::nullopt}};
    auto sent = kafka::publish_and_wait(*producer_, records, 30s);
    ASSERT_TRUE(sent.has_value()) << sent.error().message;
  }

  /// The terminal event (sent/failed/expired) of `job_id`, waiting up to `limit`.
  std::optional<messages::Event> terminal(const std::string& job_id,
                                          std::chrono::milliseconds limit = 60s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      for (const auto& e : events_) {
        if (e.data.value("job_id", "") == job_id &&
            (e.type == "delivery.sent" || e.type == "delivery.failed" ||
             e.type == "delivery.expired")) {
          return e;
        }
      }
      auto polled = reader_->poll(100ms);
      if (polled && *polled) {
        if (auto event = messages::decode_event((**polled).value)) events_.push_back(*event);
      }
    }
    return std::nullopt;
  }

  std::string brokers_, pg_url_, prefix_, tenant_;
  messages::Topics topics_;
  kafka::KafkaSettings settings_;
  std::unique_ptr<kafka::KafkaProducer> producer_;
  std::unique_ptr<kafka::Consumer> reader_;
  OpenSslRng rng_;
  std::optional<crypto::KeyRing> keys_;
  std::optional<crypto::Sealer> sealer_;
  std::filesystem::path dir_;
  std::unique_ptr<test::FakeProviders> fake_;
  std::unique_ptr<pg::PgConnection> db_;
  std::vector<std::unique_ptr<Subprocess>> workers_;
  std::vector<messages::Event> events_;
};

TEST_F(DeliveryProvidersE2eTest, WhatsAppGoesThroughMetaThenFailsOverToTwilioWhatsApp) {
  start_worker("whatsapp", {{"OTP_WHATSAPP_PROVIDER", "meta,twilio-whatsapp"},
                            {"OTP_META_BASE_URL", fake_->base_url()},
                            {"OTP_META_PHONE_NUMBER_ID", "100000000000001"},
                            {"OTP_META_ACCESS_TOKEN", "fake-meta-token"},
                            {"OTP_META_TEMPLATE_NAME", "acme_otp"},
                            {"OTP_TWILIO_BASE_URL", fake_->base_url()},
                            {"OTP_TWILIO_ACCOUNT_SID", "AC" + std::string(32, '0')},
                            {"OTP_TWILIO_AUTH_TOKEN", "fake-auth-token"},
                            {"OTP_TWILIO_WHATSAPP_FROM", "+14155238886"}});
  auto first = job(messages::Channel::kWhatsapp, "+5511987654321", "");
  publish(first);
  auto sent = terminal(first.job_id);
  ASSERT_TRUE(sent.has_value());
  EXPECT_EQ(sent->type, "delivery.sent");
  EXPECT_EQ(sent->data.value("provider", ""), "meta");
  auto recorded = fake_->requests();
  ASSERT_EQ(recorded.size(), 1U) << recorded.dump();
  const auto& tpl = recorded[0]["json"]["template"];
  EXPECT_EQ(tpl["name"], "acme_otp");
  EXPECT_EQ(tpl["language"]["code"], "pt_BR");  // from the +55 number
  EXPECT_EQ(tpl["components"][0]["parameters"][0]["text"], "482913");
  EXPECT_EQ(tpl["components"][1]["parameters"][0]["text"], "482913");

  // Meta refuses (Graph code 100, HTTP 400): permanent, so the next provider gets the job.
  fake_->reset();
  fake_->behave({{"provider", "meta"}, {"statuses", {400}}});
  auto second = job(messages::Channel::kWhatsapp, "+33612345678", "");
  publish(second);
  auto failed_over = terminal(second.job_id);
  ASSERT_TRUE(failed_over.has_value());
  EXPECT_EQ(failed_over->type, "delivery.sent");
  EXPECT_EQ(failed_over->data.value("provider", ""), "twilio-whatsapp");
  recorded = fake_->requests();
  ASSERT_EQ(recorded.size(), 2U) << recorded.dump();
  EXPECT_EQ(recorded[0]["provider"], "meta");
  EXPECT_EQ(recorded[1]["provider"], "twilio");
  EXPECT_EQ(recorded[1]["form"]["To"], "whatsapp:+33612345678");
  EXPECT_EQ(recorded[1]["form"]["From"], "whatsapp:+14155238886");
  EXPECT_THAT(recorded[1]["form"]["Body"].get<std::string>(),
              HasSubstr("482913 est votre code de vérification Acme"));  // French built-in
}

TEST_F(DeliveryProvidersE2eTest, VonageSendsTheTenantTemplateWithItsSenderAndSegments) {
  ASSERT_TRUE(
      db_->exec("INSERT INTO message_templates (tenant_id, channel, locale, body, sender)"
                " VALUES ($1, 'sms', 'es', 'Código {{brand}}: {{code}} ({{minutes}} min)',"
                " 'ACMEES')",
                {tenant_}));
  ASSERT_TRUE(
      db_->exec("INSERT INTO tenant_senders (tenant_id, channel, brand) VALUES"
                " ($1, 'sms', 'Acme España')",
                {tenant_}));
  start_worker("sms", {{"OTP_SMS_PROVIDER", "vonage"},
                       {"OTP_VONAGE_BASE_URL", fake_->base_url()},
                       {"OTP_VONAGE_API_KEY", "fake-vonage-key"},
                       {"OTP_VONAGE_API_SECRET", "fake-vonage-secret"},
                       {"OTP_VONAGE_FROM", "Acme"}});
  auto j = job(messages::Channel::kSms, "+34612345678", "");
  publish(j);
  auto sent = terminal(j.job_id);
  ASSERT_TRUE(sent.has_value());
  EXPECT_EQ(sent->type, "delivery.sent") << sent->data.dump();
  EXPECT_EQ(sent->data.value("provider", ""), "vonage");
  EXPECT_EQ(sent->data.value("segments", 0), 1);
  EXPECT_EQ(sent->data.value("encoding", ""), "ucs2");
  const auto recorded = fake_->requests();
  ASSERT_EQ(recorded.size(), 1U);
  const auto& form = recorded[0]["form"];
  EXPECT_EQ(form["from"], "ACMEES");
  EXPECT_EQ(form["to"], "34612345678");
  EXPECT_EQ(form["type"], "unicode");
  EXPECT_EQ(form["text"], "Código Acme España: 482913 (10 min)");
}

TEST_F(DeliveryProvidersE2eTest, EmailGoesOutOverStartTls) {
  const auto cert = dir_ / "cert.pem";
  const auto key = dir_ / "key.pem";
  const std::string openssl =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost"
      " -addext subjectAltName=IP:127.0.0.1 -keyout " +
      key.string() + " -out " + cert.string() + " 2>/dev/null";
  ASSERT_EQ(std::system(openssl.c_str()), 0);
  const auto record = dir_ / "smtp.jsonl";
  auto smtp = test::start_listening(
      {OTP_SYSTEM_PYTHON3, OTP_SMTP_SERVER_PY, "--record-file", record.string(), "--tls-cert",
       cert.string(), "--tls-key", key.string()},
      (dir_ / "smtp.log").string());
  ASSERT_TRUE(smtp.has_value()) << smtp.error().message;
  start_worker("email", {{"OTP_EMAIL_PROVIDER", "smtp"},
                         {"OTP_SMTP_URL", "smtp://127.0.0.1:" + std::to_string(smtp->second)},
                         {"OTP_SMTP_FROM", "Acme <codes@acme.example>"},
                         {"OTP_SMTP_CA_FILE", cert.string()}});
  auto j = job(messages::Channel::kEmail, "ana@example.com", "de");
  publish(j);
  auto sent = terminal(j.job_id);
  ASSERT_TRUE(sent.has_value());
  EXPECT_EQ(sent->type, "delivery.sent") << sent->data.dump();
  EXPECT_EQ(sent->data.value("provider", ""), "smtp");
  std::ifstream in(record);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  const auto message = nlohmann::json::parse(line);
  EXPECT_TRUE(message["tls"].get<bool>());
  EXPECT_EQ(message["rcpt_tos"], nlohmann::json::array({"ana@example.com"}));
  // The job id's ':' is not a dot-atom character: it becomes '-' in the Message-ID.
  const std::string message_id = j.verification_id + "-1@acme.example";
  EXPECT_THAT(message["data"].get<std::string>(), HasSubstr("Message-ID: <" + message_id + ">"));
  EXPECT_EQ(sent->data.value("provider_message_id", ""), message_id);
}

}  // namespace
}  // namespace otp
