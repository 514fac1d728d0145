#include "services/generator/generator_config.h"

#include "tests/support/kafka_settings.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

namespace otp::generator {
namespace {

using namespace std::chrono_literals;

constexpr char kHmacKeys[] = "h1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
constexpr char kSealKeys[] = "s1:AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=";

Result<GeneratorConfig> load(std::map<std::string, std::string> env) {
  return GeneratorConfig::from_env([env = std::move(env)](const std::string& key) {
    auto it = env.find(key);
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  });
}

/// The keys the generator cannot start without.
std::map<std::string, std::string> required_env() {
  return {{"OTP_KAFKA_BROKERS", "127.0.0.1:9092"},
          {"OTP_HMAC_KEYS", kHmacKeys},
          {"OTP_SEAL_KEYS", kSealKeys}};
}

TEST(GeneratorConfig, DefaultsWithTheRequiredKeys) {
  auto config = load(required_env());
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->kafka.brokers, "127.0.0.1:9092");
  EXPECT_EQ(config->kafka.client_id, "otp-generator");
  EXPECT_EQ(config->topic_prefix, "otp.");
  EXPECT_EQ(config->consumer_group, "otp-generator");
  EXPECT_EQ(config->log_level, "info");
  EXPECT_EQ(config->redis.host, "127.0.0.1");
  EXPECT_EQ(config->redis.port, 6379);
  EXPECT_TRUE(config->redis.password.empty());
  EXPECT_EQ(config->redis.connect_timeout, 500ms);
  EXPECT_EQ(config->redis.command_timeout, 500ms);
  EXPECT_EQ(config->hmac_keys.active().id, "h1");
  EXPECT_EQ(config->seal_keys.active().id, "s1");
  EXPECT_EQ(config->code_length, 6);
  EXPECT_EQ(config->code_ttl, 600s);
  EXPECT_EQ(config->max_attempts, 5);
  EXPECT_EQ(config->delivery_margin, 10s);
  EXPECT_EQ(config->verify_max_age, 15s);
  EXPECT_EQ(config->retention, 24h);
  EXPECT_FALSE(config->tenant_settings_from_pg);
  EXPECT_EQ(config->tenant_refresh, 5s);
  // Every tenant gets the column defaults of schemas/sql/0004.
  EXPECT_EQ(config->env_tenant_settings(), TenantSettings{});
}

using test::effective_property;

TEST(GeneratorConfig, ProducerIsUncompressedUnlessTold) {
  auto env = required_env();
  auto config = load(env);
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(effective_property(config->producer_settings(), "compression.type"), "none");
  EXPECT_EQ(effective_property(config->kafka, "compression.type"), std::nullopt)
      << "the consumer does not get producer properties";

  env["OTP_KAFKA_PROPERTIES"] = "compression.type=zstd";
  config = load(env);
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(effective_property(config->producer_settings(), "compression.type"), "zstd");
}

TEST(GeneratorConfig, EventsAndJobsLingerLongerThanReplies) {
  auto env = required_env();
  auto config = load(env);
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(effective_property(config->bulk_producer_settings(), "linger.ms"), "10");
  EXPECT_EQ(effective_property(config->producer_settings(), "linger.ms"), std::nullopt)
      << "replies keep the shared producer's linger.ms";
  EXPECT_EQ(effective_property(config->bulk_producer_settings(), "compression.type"), std::nullopt)
      << "events and jobs keep the shared producer's compression";

  env["OTP_KAFKA_PROPERTIES"] = "linger.ms=1";
  config = load(env);
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(effective_property(config->bulk_producer_settings(), "linger.ms"), "1");
}

TEST(GeneratorConfig, TenantSettingsFromPostgresNeedTheUrl) {
  auto env = required_env();
  env["OTP_TENANT_SETTINGS"] = "postgres";
  auto missing = load(env);
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message.find("OTP_PG_URL"), std::string::npos);
  env["OTP_PG_URL"] = "postgresql://otp@127.0.0.1:1/otp";
  env["OTP_TENANT_REFRESH_MS"] = "1000";
  auto config = load(env);
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_TRUE(config->tenant_settings_from_pg);
  EXPECT_EQ(config->pg_url.reveal(), "postgresql://otp@127.0.0.1:1/otp");
  EXPECT_EQ(config->tenant_refresh, 1s);
}

TEST(GeneratorConfig, ReadsEveryKey) {
  auto config = load({{"OTP_KAFKA_BROKERS", "k:1"},
                      {"OTP_TOPIC_PREFIX", "t1."},
                      {"OTP_CONSUMER_GROUP", "g1"},
                      {"OTP_LOG_LEVEL", "debug"},
                      {"OTP_REDIS_HOST", "redis.local"},
                      {"OTP_REDIS_PORT", "6380"},
                      {"OTP_REDIS_PASSWORD", "pw"},
                      {"OTP_REDIS_TIMEOUT_MS", "250"},
                      {"OTP_HMAC_KEYS", kHmacKeys},
                      {"OTP_SEAL_KEYS", kSealKeys},
                      {"OTP_CODE_LENGTH", "8"},
                      {"OTP_CODE_TTL_S", "60"},
                      {"OTP_MAX_ATTEMPTS", "3"},
                      {"OTP_DELIVERY_MARGIN_MS", "5000"},
                      {"OTP_VERIFY_MAX_AGE_MS", "20000"},
                      {"OTP_VERIFICATION_RETENTION_S", "3600"},
                      {"OTP_SENDS_PER_DESTINATION", "7"},
                      {"OTP_SEND_WINDOW_S", "60"},
                      {"OTP_FAILURE_LOCK_THRESHOLD", "9"},
                      {"OTP_SEND_RATE_PER_SECOND", "20000"},
                      {"OTP_SEND_BURST", "40000"}});
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->topic_prefix, "t1.");
  EXPECT_EQ(config->consumer_group, "g1");
  EXPECT_EQ(config->log_level, "debug");
  EXPECT_EQ(config->redis.host, "redis.local");
  EXPECT_EQ(config->redis.port, 6380);
  EXPECT_EQ(config->redis.password.reveal(), "pw");
  EXPECT_EQ(config->redis.command_timeout, 250ms);
  EXPECT_EQ(config->code_length, 8);
  EXPECT_EQ(config->code_ttl, 60s);
  EXPECT_EQ(config->max_attempts, 3);
  EXPECT_EQ(config->delivery_margin, 5s);
  EXPECT_EQ(config->verify_max_age, 20s);
  EXPECT_EQ(config->retention, 1h);
  const auto tenant = config->env_tenant_settings();
  EXPECT_EQ(tenant.code_length, 8);
  EXPECT_EQ(tenant.ttl, 60s);
  EXPECT_EQ(tenant.max_attempts, 3);
  EXPECT_EQ(tenant.sends_per_destination, 7);
  EXPECT_EQ(tenant.send_window, 60s);
  EXPECT_EQ(tenant.failure_lock_threshold, 9);
  EXPECT_DOUBLE_EQ(tenant.send_rate_per_second, 20000);
  EXPECT_EQ(tenant.send_burst, 40000);
}

TEST(GeneratorConfig, OneErrorListsEveryBadKeyWithoutKeyMaterial) {
  const std::string leaked = "c2VjcmV0LWtleS1tYXRlcmlhbA==";
  auto config = load({{"OTP_HMAC_KEYS", "h1:" + leaked},
                      {"OTP_CODE_LENGTH", "3"},
                      {"OTP_CODE_TTL_S", "59"},
                      {"OTP_MAX_ATTEMPTS", "11"},
                      {"OTP_VERIFICATION_RETENTION_S", "59"},
                      {"OTP_REDIS_PORT", "x"},
                      {"OTP_LOG_LEVEL", "loud"}});
  ASSERT_FALSE(config.has_value());
  const auto& message = config.error().message;
  EXPECT_EQ(config.error().code, Errc::kInvalidInput);
  for (const char* key :
       {"OTP_KAFKA_BROKERS", "OTP_HMAC_KEYS", "OTP_SEAL_KEYS", "OTP_CODE_LENGTH", "OTP_CODE_TTL_S",
        "OTP_MAX_ATTEMPTS", "OTP_VERIFICATION_RETENTION_S", "OTP_REDIS_PORT", "OTP_LOG_LEVEL"}) {
    EXPECT_NE(message.find(key), std::string::npos) << key << " missing from: " << message;
  }
  EXPECT_EQ(message.find(leaked), std::string::npos) << message;
}

}  // namespace
}  // namespace otp::generator
