#include "services/audit/audit_config.h"

#include "tests/support/kafka_settings.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

namespace otp::audit {
namespace {

using ::testing::HasSubstr;

config::EnvReader::Lookup lookup_in(std::map<std::string, std::string> values) {
  return [values = std::move(values)](const std::string& key) -> std::optional<std::string> {
    auto it = values.find(key);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

TEST(AuditConfig, AppliesDefaults) {
  auto config = AuditConfig::from_env(lookup_in(
      {{"OTP_KAFKA_BROKERS", "127.0.0.1:9092"}, {"OTP_PG_URL", "postgresql://otp@h/otp"}}));
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->kafka.brokers, "127.0.0.1:9092");
  EXPECT_EQ(config->kafka.client_id, "otp-audit");
  EXPECT_EQ(config->topic_prefix, "otp.");
  EXPECT_EQ(config->consumer_group, "otp-audit");
  EXPECT_EQ(config->topics().events, "otp.events");
  EXPECT_EQ(config->pg_url.reveal(), "postgresql://otp@h/otp");
  EXPECT_EQ(config->batch_size, 1000U);
  EXPECT_EQ(config->batch_age, std::chrono::milliseconds(100));
  EXPECT_EQ(config->log_level, "info");
  EXPECT_EQ(config->crash_after_commit, 0U);  // fault injection off
}

using test::effective_property;

TEST(AuditConfig, ConsumerPrefetchIsBoundedUnlessTold) {
  std::map<std::string, std::string> env = {{"OTP_KAFKA_BROKERS", "127.0.0.1:9092"},
                                            {"OTP_PG_URL", "postgresql://otp@h/otp"}};
  auto config = AuditConfig::from_env(lookup_in(env));
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(effective_property(config->consumer_settings(), "queued.max.messages.kbytes"), "2048");
  EXPECT_EQ(effective_property(config->consumer_settings(), "max.partition.fetch.bytes"),
            "1048576");
  EXPECT_EQ(effective_property(config->kafka, "queued.max.messages.kbytes"), std::nullopt)
      << "the dead-letter producer does not get consumer properties";

  env["OTP_KAFKA_PROPERTIES"] = "queued.max.messages.kbytes=8192";
  config = AuditConfig::from_env(lookup_in(env));
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(effective_property(config->consumer_settings(), "queued.max.messages.kbytes"), "8192");
}

TEST(AuditConfig, ReadsEveryKey) {
  auto config = AuditConfig::from_env(lookup_in({{"OTP_KAFKA_BROKERS", "k:1"},
                                                 {"OTP_TOPIC_PREFIX", "t1."},
                                                 {"OTP_CONSUMER_GROUP", "staging-audit"},
                                                 {"OTP_PG_URL", "postgresql://x@y/z"},
                                                 {"OTP_AUDIT_BATCH_SIZE", "50"},
                                                 {"OTP_AUDIT_BATCH_MS", "250"},
                                                 {"OTP_AUDIT_CRASH_AFTER_COMMIT", "3"},
                                                 {"OTP_LOG_LEVEL", "debug"}}));
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->crash_after_commit, 3U);
  EXPECT_EQ(config->consumer_group, "staging-audit");
  EXPECT_EQ(config->topics().events, "t1.events");
  EXPECT_EQ(config->topics().dlq, "t1.dlq");
  EXPECT_EQ(config->batch_size, 50U);
  EXPECT_EQ(config->batch_age, std::chrono::milliseconds(250));
  EXPECT_EQ(config->log_level, "debug");
}

TEST(AuditConfig, ReportsEveryProblemAtOnce) {
  auto config = AuditConfig::from_env(lookup_in({{"OTP_TOPIC_PREFIX", "bad prefix/"},
                                                 {"OTP_AUDIT_BATCH_SIZE", "0"},
                                                 {"OTP_AUDIT_BATCH_MS", "soon"},
                                                 {"OTP_AUDIT_CRASH_AFTER_COMMIT", "-1"},
                                                 {"OTP_LOG_LEVEL", "loud"}}));
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error().code, Errc::kInvalidInput);
  for (const char* key :
       {"OTP_KAFKA_BROKERS", "OTP_PG_URL", "OTP_TOPIC_PREFIX", "OTP_AUDIT_BATCH_SIZE",
        "OTP_AUDIT_BATCH_MS", "OTP_AUDIT_CRASH_AFTER_COMMIT", "OTP_LOG_LEVEL"}) {
    EXPECT_THAT(config.error().message, HasSubstr(key));
  }
}

}  // namespace
}  // namespace otp::audit
