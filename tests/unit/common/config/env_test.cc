#include "common/config/env.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace otp::config {
namespace {

using namespace std::chrono_literals;

EnvReader reader(std::map<std::string, std::string> values) {
  return EnvReader(
      [values = std::move(values)](const std::string& key) -> std::optional<std::string> {
        auto it = values.find(key);
        if (it == values.end()) return std::nullopt;
        return it->second;
      });
}

std::string problems(const EnvReader& env) {
  auto done = env.finish();
  return done.has_value() ? std::string() : done.error().message;
}

TEST(EnvReader, FinishesCleanlyWhenEverythingIsValid) {
  auto env = reader({{"OTP_NAME", "intake"}, {"OTP_PORT", "8080"}});
  EXPECT_EQ(env.string("OTP_NAME", "x"), "intake");
  EXPECT_EQ(env.integer("OTP_PORT", 1, 1, 65535), 8080);
  EXPECT_EQ(env.string("OTP_MISSING", "fallback"), "fallback");
  EXPECT_TRUE(env.finish().has_value());
}

TEST(EnvReader, ListsEveryBadKeyInOneError) {
  auto env = reader({{"OTP_PORT", "http"}, {"OTP_DEBUG", "maybe"}, {"OTP_WORKERS", "0"}});
  (void)env.required_string("OTP_BROKERS");
  (void)env.integer("OTP_PORT", 8080, 1, 65535);
  (void)env.boolean("OTP_DEBUG", false);
  (void)env.integer("OTP_WORKERS", 4, 1, 64);
  (void)env.required_secret("OTP_HMAC_KEYS");
  env.reject("OTP_SEAL_KEYS", "key ring entry 1: is empty");
  auto done = env.finish();
  ASSERT_FALSE(done.has_value());
  EXPECT_EQ(done.error().code, Errc::kInvalidInput);
  EXPECT_EQ(done.error().message,
            "invalid configuration: OTP_BROKERS is required; OTP_PORT must be an integer; "
            "OTP_DEBUG must be true or false; OTP_WORKERS must be between 1 and 64; "
            "OTP_HMAC_KEYS is required; OTP_SEAL_KEYS key ring entry 1: is empty");
}

TEST(EnvReader, EmptyValueCountsAsUnset) {
  auto env = reader({{"OTP_NAME", ""}, {"OTP_PORT", ""}, {"OTP_REQUIRED", ""}});
  EXPECT_EQ(env.string("OTP_NAME", "fallback"), "fallback");
  EXPECT_EQ(env.integer("OTP_PORT", 7, 1, 10), 7);
  (void)env.required_string("OTP_REQUIRED");
  EXPECT_EQ(problems(env), "invalid configuration: OTP_REQUIRED is required");
}

TEST(EnvReader, IntegerBoundsAreInclusive) {
  auto env = reader({{"OTP_MIN", "1"}, {"OTP_MAX", "10"}, {"OTP_NEGATIVE", "-5"}});
  EXPECT_EQ(env.integer("OTP_MIN", 5, 1, 10), 1);
  EXPECT_EQ(env.integer("OTP_MAX", 5, 1, 10), 10);
  EXPECT_EQ(env.integer("OTP_NEGATIVE", 0, -10, 10), -5);
  EXPECT_TRUE(env.finish().has_value());
}

TEST(EnvReader, OutOfBoundsOrMalformedIntegersFallBackAndAreReported) {
  auto env = reader({{"OTP_LOW", "0"},
                     {"OTP_HIGH", "11"},
                     {"OTP_SUFFIX", "10s"},
                     {"OTP_SPACE", " 5"},
                     {"OTP_HUGE", "99999999999999999999"}});
  EXPECT_EQ(env.integer("OTP_LOW", 5, 1, 10), 5);
  EXPECT_EQ(env.integer("OTP_HIGH", 5, 1, 10), 5);
  EXPECT_EQ(env.integer("OTP_SUFFIX", 5, 1, 10), 5);
  EXPECT_EQ(env.integer("OTP_SPACE", 5, 1, 10), 5);
  EXPECT_EQ(env.integer("OTP_HUGE", 5, 1, 10), 5);
  EXPECT_EQ(problems(env),
            "invalid configuration: OTP_LOW must be between 1 and 10; OTP_HIGH must be between 1 "
            "and 10; OTP_SUFFIX must be an integer; OTP_SPACE must be an integer; OTP_HUGE must "
            "be an integer");
}

TEST(EnvReader, MillisUsesIntegerBounds) {
  auto env = reader({{"OTP_TIMEOUT", "250"}, {"OTP_TOO_LONG", "60001"}});
  EXPECT_EQ(env.millis("OTP_TIMEOUT", 100ms, 1ms, 60s), 250ms);
  EXPECT_EQ(env.millis("OTP_TOO_LONG", 100ms, 1ms, 60s), 100ms);
  EXPECT_EQ(env.millis("OTP_UNSET", 100ms, 1ms, 60s), 100ms);
  EXPECT_EQ(problems(env), "invalid configuration: OTP_TOO_LONG must be between 1 and 60000");
}

TEST(EnvReader, ParsesBooleans) {
  auto env = reader({{"OTP_A", "1"},
                     {"OTP_B", "true"},
                     {"OTP_C", "yes"},
                     {"OTP_D", "0"},
                     {"OTP_E", "false"},
                     {"OTP_F", "no"}});
  EXPECT_TRUE(env.boolean("OTP_A", false));
  EXPECT_TRUE(env.boolean("OTP_B", false));
  EXPECT_TRUE(env.boolean("OTP_C", false));
  EXPECT_FALSE(env.boolean("OTP_D", true));
  EXPECT_FALSE(env.boolean("OTP_E", true));
  EXPECT_FALSE(env.boolean("OTP_F", true));
  EXPECT_TRUE(env.boolean("OTP_UNSET", true));
  EXPECT_FALSE(env.boolean("OTP_UNSET", false));
  EXPECT_TRUE(env.finish().has_value());
}

TEST(EnvReader, RejectsOtherBooleanSpellings) {
  auto env = reader({{"OTP_A", "TRUE"}, {"OTP_B", "on"}, {"OTP_C", "2"}});
  EXPECT_TRUE(env.boolean("OTP_A", true));
  EXPECT_FALSE(env.boolean("OTP_B", false));
  EXPECT_TRUE(env.boolean("OTP_C", true));
  EXPECT_EQ(problems(env),
            "invalid configuration: OTP_A must be true or false; OTP_B must be true or false; "
            "OTP_C must be true or false");
}

TEST(EnvReader, SplitsListsTrimsSpacesAndDropsEmptyItems) {
  auto env = reader({{"OTP_LIST", " a, b ,,c ,"}, {"OTP_ONE", "solo"}, {"OTP_COMMAS", ",,"}});
  EXPECT_EQ(env.list("OTP_LIST", {}), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(env.list("OTP_ONE", {}), (std::vector<std::string>{"solo"}));
  EXPECT_TRUE(env.list("OTP_COMMAS", {"x"}).empty());
  EXPECT_EQ(env.list("OTP_UNSET", {"x", "y"}), (std::vector<std::string>{"x", "y"}));
  EXPECT_TRUE(env.finish().has_value());
}

TEST(EnvReader, ChoiceAcceptsOnlyListedValues) {
  auto env = reader({{"OTP_GOOD", "sms"}, {"OTP_BAD", "fax"}});
  EXPECT_EQ(env.choice("OTP_GOOD", "email", {"email", "sms"}), "sms");
  EXPECT_EQ(env.choice("OTP_BAD", "email", {"email", "sms"}), "email");
  EXPECT_EQ(env.choice("OTP_UNSET", "email", {"email", "sms"}), "email");
  EXPECT_EQ(problems(env), "invalid configuration: OTP_BAD must be one of email|sms");
}

TEST(EnvReader, ReadsSecrets) {
  auto env = reader({{"OTP_KEY", "s3cr3t"}});
  const auto required = env.required_secret("OTP_KEY");
  EXPECT_EQ(required.reveal(), "s3cr3t");
  EXPECT_FALSE(required.empty());
  EXPECT_EQ(env.secret("OTP_OPTIONAL").reveal(), "");
  EXPECT_TRUE(env.secret("OTP_OPTIONAL").empty());
  EXPECT_EQ(env.secret("OTP_OPTIONAL", "dev-only").reveal(), "dev-only");
  EXPECT_TRUE(env.finish().has_value());
  EXPECT_TRUE(Secret().empty());
}

TEST(EnvReader, ProblemsNeverEchoValues) {
  auto env = reader({{"OTP_PORT", "hunter2"}, {"OTP_FLAG", "hunter3"}, {"OTP_MODE", "hunter4"}});
  (void)env.integer("OTP_PORT", 1, 1, 2);
  (void)env.boolean("OTP_FLAG", false);
  (void)env.choice("OTP_MODE", "a", {"a", "b"});
  const auto message = problems(env);
  EXPECT_NE(message.find("OTP_PORT"), std::string::npos);
  EXPECT_EQ(message.find("hunter"), std::string::npos) << message;
}

TEST(EnvReader, DefaultLookupReadsTheProcessEnvironment) {
  ASSERT_EQ(setenv("OTP_ENV_TEST_VALUE", "42", 1), 0);
  EnvReader env;
  EXPECT_EQ(env.integer("OTP_ENV_TEST_VALUE", 0, 0, 100), 42);
  EXPECT_EQ(env.string("OTP_ENV_TEST_SURELY_UNSET", "none"), "none");
  ASSERT_EQ(unsetenv("OTP_ENV_TEST_VALUE"), 0);
  EXPECT_TRUE(env.finish().has_value());
}

}  // namespace
}  // namespace otp::config
