#include "services/intake/intake_config.h"

#include "tests/support/kafka_settings.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

namespace otp::intake {
namespace {

using namespace std::chrono_literals;

using Env = std::map<std::string, std::string>;

constexpr char kKeys[] = "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

Env minimal_env() {
  return {{"OTP_KAFKA_BROKERS", "127.0.0.1:9092"},
          {"OTP_SEAL_KEYS", kKeys},
          {"OTP_DEV_API_KEY", "dev"},
          {"OTP_DEV_API_SECRET", "s3cret"}};
}

Result<IntakeConfig> load(const Env& env) {
  return IntakeConfig::from_env([env](const std::string& key) -> std::optional<std::string> {
    auto it = env.find(key);
    if (it == env.end()) return std::nullopt;
    return it->second;
  });
}

TEST(IntakeConfig, DefaultsApplyToAMinimalEnvironment) {
  auto config = load(minimal_env());
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->http_host, "127.0.0.1");
  EXPECT_EQ(config->http_port, 8080);
  EXPECT_EQ(config->http_threads, 2);
  EXPECT_EQ(config->max_body_bytes, 16U * 1024);
  EXPECT_EQ(config->read_timeout, 10s);
  EXPECT_EQ(config->reply_timeout, 3s);
  EXPECT_EQ(config->instance, 0);
  EXPECT_EQ(config->topic_prefix, "otp.");
  EXPECT_EQ(config->dev_tenant, "dev");
  EXPECT_EQ(config->dev_api_key, "dev");
  EXPECT_EQ(config->dev_api_secret.reveal(), "s3cret");
  EXPECT_EQ(config->log_level, "info");
  EXPECT_EQ(config->kafka.brokers, "127.0.0.1:9092");
}

TEST(IntakeConfig, ReadsEveryKey) {
  Env env = minimal_env();
  env["OTP_HTTP_HOST"] = "0.0.0.0";
  env["OTP_HTTP_PORT"] = "0";
  env["OTP_HTTP_THREADS"] = "4";
  env["OTP_HTTP_MAX_BODY_BYTES"] = "4096";
  env["OTP_HTTP_READ_TIMEOUT_MS"] = "2500";
  env["OTP_REPLY_TIMEOUT_MS"] = "800";
  env["OTP_INTAKE_INSTANCE"] = "7";
  env["OTP_TOPIC_PREFIX"] = "test-1.";
  env["OTP_DEV_TENANT"] = "acme";
  env["OTP_LOG_LEVEL"] = "debug";
  env["OTP_KAFKA_PROPERTIES"] = "message.timeout.ms=1000";
  auto config = load(env);
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->http_host, "0.0.0.0");
  EXPECT_EQ(config->http_port, 0);
  EXPECT_EQ(config->http_threads, 4);
  EXPECT_EQ(config->max_body_bytes, 4096U);
  EXPECT_EQ(config->read_timeout, 2500ms);
  EXPECT_EQ(config->reply_timeout, 800ms);
  EXPECT_EQ(config->instance, 7);
  EXPECT_EQ(config->topic_prefix, "test-1.");
  EXPECT_EQ(config->dev_tenant, "acme");
  EXPECT_EQ(config->log_level, "debug");
}

TEST(IntakeConfig, ProducerTimesOutWithTheReplyUnlessTold) {
  Env env = minimal_env();
  env["OTP_REPLY_TIMEOUT_MS"] = "800";
  auto config = load(env);
  ASSERT_TRUE(config.has_value());
  auto settings = config->producer_settings();
  ASSERT_FALSE(settings.properties.empty());
  EXPECT_EQ(settings.properties.front(),
            std::make_pair(std::string("message.timeout.ms"), std::string("800")));
  EXPECT_TRUE(config->kafka.properties.empty()) << "consumers do not get producer properties";

  env["OTP_KAFKA_PROPERTIES"] = "message.timeout.ms=1000";
  config = load(env);
  ASSERT_TRUE(config.has_value());
  settings = config->producer_settings();
  // Applied in order, so the operator's value (last) wins.
  EXPECT_EQ(settings.properties.back(),
            std::make_pair(std::string("message.timeout.ms"), std::string("1000")));
}

using test::effective_property;

TEST(IntakeConfig, RequestProducerLingersFiveMillisecondsUnlessTold) {
  Env env = minimal_env();
  auto config = load(env);
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(effective_property(config->producer_settings(), "linger.ms"), "5");
  EXPECT_EQ(effective_property(config->kafka, "linger.ms"), std::nullopt)
      << "the reply consumer does not get producer properties";

  env["OTP_KAFKA_PROPERTIES"] = "linger.ms=0";
  config = load(env);
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(effective_property(config->producer_settings(), "linger.ms"), "0");
}

TEST(IntakeConfig, RequestProducerIsUncompressedUnlessTold) {
  Env env = minimal_env();
  auto config = load(env);
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(effective_property(config->producer_settings(), "compression.type"), "none");
  EXPECT_EQ(effective_property(config->kafka, "compression.type"), std::nullopt);

  env["OTP_KAFKA_PROPERTIES"] = "compression.type=lz4";
  config = load(env);
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(effective_property(config->producer_settings(), "compression.type"), "lz4");
}

TEST(IntakeConfig, ReportsEveryProblemAtOnce) {
  Env env = {{"OTP_HTTP_PORT", "http"},        {"OTP_HTTP_THREADS", "0"},
             {"OTP_INTAKE_INSTANCE", "8"},     {"OTP_SEAL_KEYS", "k1:tooshort"},
             {"OTP_DEV_TENANT", "bad tenant"}, {"OTP_LOG_LEVEL", "loud"}};
  auto config = load(env);
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error().code, Errc::kInvalidInput);
  for (const char* key : {"OTP_HTTP_PORT", "OTP_HTTP_THREADS", "OTP_INTAKE_INSTANCE",
                          "OTP_SEAL_KEYS", "OTP_DEV_TENANT", "OTP_LOG_LEVEL", "OTP_KAFKA_BROKERS",
                          "OTP_DEV_API_KEY", "OTP_DEV_API_SECRET"}) {
    EXPECT_NE(config.error().message.find(key), std::string::npos) << key;
  }
  EXPECT_EQ(config.error().message.find("tooshort"), std::string::npos) << "no key material";
}

// --- HTTP API (api): CORS ---
TEST(IntakeConfig, CorsOriginsAreExactOriginsOnly) {
  auto env = minimal_env();
  EXPECT_TRUE(load(env)->cors_origins.empty());
  env["OTP_CORS_ORIGINS"] = " https://app.example.com ,http://localhost:3000,,http://[::1]:8080";
  auto config = load(env);
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->cors_origins,
            (std::vector<std::string>{"https://app.example.com", "http://localhost:3000",
                                      "http://[::1]:8080"}));
  for (const char* bad : {"https://app.example.com/", "app.example.com", "*",
                          "https://app.example.com/path", "ftp://x.example"}) {
    env["OTP_CORS_ORIGINS"] = bad;
    auto refused = load(env);
    ASSERT_FALSE(refused.has_value()) << bad;
    EXPECT_NE(refused.error().message.find("OTP_CORS_ORIGINS"), std::string::npos);
  }
}

}  // namespace
}  // namespace otp::intake
