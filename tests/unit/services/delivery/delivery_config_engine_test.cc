// DeliveryConfig: the engine's keys (issue 5): provider lists, concurrency, retries, breaker,
// pacing.

#include "services/delivery/delivery_config.h"

#include <gtest/gtest.h>

#include <map>

namespace otp::delivery {
namespace {

using namespace std::chrono_literals;

Result<DeliveryConfig> load(std::map<std::string, std::string> vars) {
  vars.emplace("OTP_SEAL_KEYS", "s1:AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=");
  vars.emplace("OTP_KAFKA_BROKERS", "127.0.0.1:9092");
  vars.emplace("OTP_OUTBOX_PATH", "/tmp/outbox.jsonl");
  return DeliveryConfig::from_env(
      "sms", config::EnvReader([vars](const std::string& key) {
        auto found = vars.find(key);
        return found == vars.end() ? std::nullopt : std::optional<std::string>(found->second);
      }));
}

TEST(DeliveryConfigEngine, Defaults) {
  auto config = load({});
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->providers, std::vector<std::string>{"outbox"});
  EXPECT_EQ(config->consumer_group, "otp-delivery-sms");
  EXPECT_EQ(config->concurrency, 256U);
  EXPECT_EQ(config->max_attempts, 8);
  EXPECT_EQ(config->backoff_initial, 500ms);
  EXPECT_EQ(config->backoff_max, 30000ms);
  EXPECT_EQ(config->breaker_failures, 5);
  EXPECT_EQ(config->breaker_open, 5000ms);
  EXPECT_EQ(config->max_pending_jobs, 1024U);
  EXPECT_EQ(config->pause_after, 5000ms);
  EXPECT_EQ(config->pacing.at("outbox").first, 0.0);  // unpaced
}

TEST(DeliveryConfigEngine, ProvidersInFailoverOrderAndPerProviderPacing) {
  auto config = load({{"OTP_SMS_PROVIDER", "twilio,outbox"},
                      {"OTP_TWILIO_ACCOUNT_SID", "AC1"},
                      {"OTP_TWILIO_AUTH_TOKEN", "t"},
                      {"OTP_TWILIO_FROM", "+15005550006"},
                      {"OTP_TWILIO_RATE_PER_SECOND", "50"},
                      {"OTP_TWILIO_BURST", "10"},
                      {"OTP_DELIVERY_CONCURRENCY", "1024"},
                      {"OTP_DELIVERY_MAX_ATTEMPTS", "3"},
                      {"OTP_DELIVERY_PAUSE_AFTER_MS", "250"},
                      {"OTP_CONSUMER_GROUP", "g"}});
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->providers, (std::vector<std::string>{"twilio", "outbox"}));
  EXPECT_EQ(config->provider, "twilio");
  EXPECT_EQ(config->pacing.at("twilio"), (std::pair<double, double>{50, 10}));
  EXPECT_EQ(config->concurrency, 1024U);
  EXPECT_EQ(config->max_attempts, 3);
  EXPECT_EQ(config->pause_after, 250ms);
  EXPECT_EQ(config->consumer_group, "g");
}

TEST(DeliveryConfigEngine, RefusesOutOfRangeValues) {
  EXPECT_FALSE(load({{"OTP_DELIVERY_CONCURRENCY", "0"}}).has_value());
  EXPECT_FALSE(load({{"OTP_DELIVERY_MAX_ATTEMPTS", "many"}}).has_value());
  EXPECT_FALSE(load({{"OTP_DELIVERY_BACKOFF_INITIAL_MS", "1"}}).has_value());
  EXPECT_FALSE(load({{"OTP_OUTBOX_RATE_PER_SECOND", "-1"}}).has_value());
  EXPECT_FALSE(load({{"OTP_DELIVERY_PAUSE_AFTER_MS", "0"}}).has_value());
  EXPECT_FALSE(load({{"OTP_DELIVERY_PAUSE_AFTER_MS", "600000"}}).has_value());
}

}  // namespace
}  // namespace otp::delivery
