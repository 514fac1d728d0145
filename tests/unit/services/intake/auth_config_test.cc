// The auth keys of IntakeConfig (OTP_PG_URL, OTP_AUTH_REFRESH_MS, OTP_JWT_KEYS,
// OTP_JWT_TTL_SECONDS).

#include "services/intake/intake_config.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace otp::intake {
namespace {

using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

Env minimal_env() {
  return {{"OTP_KAFKA_BROKERS", "127.0.0.1:9092"},
          {"OTP_SEAL_KEYS", "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},
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

TEST(IntakeAuthConfig, DefaultsMeanDevKeyOnlyAndNoTokens) {
  auto config = load(minimal_env());
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_TRUE(config->pg_url.empty());
  EXPECT_TRUE(config->jwt_keys.empty());
  EXPECT_EQ(config->auth_refresh, 2000ms);
  EXPECT_EQ(config->jwt_ttl, 900s);
}

TEST(IntakeAuthConfig, ReadsEveryKey) {
  Env env = minimal_env();
  env["OTP_PG_URL"] = "postgresql://otp@127.0.0.1:5432/otp";
  env["OTP_AUTH_REFRESH_MS"] = "500";
  env["OTP_JWT_KEYS"] =
      "j2:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,j1:"
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  env["OTP_JWT_TTL_SECONDS"] = "300";
  auto config = load(env);
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->pg_url.reveal(), "postgresql://otp@127.0.0.1:5432/otp");
  EXPECT_EQ(config->auth_refresh, 500ms);
  EXPECT_EQ(config->jwt_ttl, 300s);
  EXPECT_FALSE(config->jwt_keys.empty());
}

TEST(IntakeAuthConfig, RejectsBadValuesWithoutEchoingKeys) {
  for (const auto& [key, value] : std::map<std::string, std::string>{
           {"OTP_JWT_KEYS", "j1:c2hvcnQ="},
           {"OTP_JWT_KEYS", "no-colon-secretvalue"},
           {"OTP_AUTH_REFRESH_MS", "10"},
           {"OTP_AUTH_REFRESH_MS", "soon"},
           {"OTP_JWT_TTL_SECONDS", "59"},
           {"OTP_JWT_TTL_SECONDS", "86401"},
       }) {
    Env env = minimal_env();
    env[key] = value;
    auto config = load(env);
    ASSERT_FALSE(config.has_value()) << key << "=" << value;
    EXPECT_NE(config.error().message.find(key), std::string::npos) << config.error().message;
    EXPECT_EQ(config.error().message.find("secretvalue"), std::string::npos);
  }
}

}  // namespace
}  // namespace otp::intake
