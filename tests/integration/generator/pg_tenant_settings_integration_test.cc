#include "common/pg/pg_connection.h"
#include "services/generator/pg_tenant_settings.h"
#include "tests/integration/generator/test_env.h"

#include <gtest/gtest.h>

#include <memory>
#include <thread>

namespace otp::generator {
namespace {

using namespace std::chrono_literals;
using testing::stack_env;
using testing::unique_name;

/// Needs OTP_TEST_PG_URL with schemas/sql applied (0004 included). Each test adds its own
/// tenant rows to the shared database and removes them at the end.
class PgTenantSettingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto url = stack_env("OTP_TEST_PG_URL");
    ASSERT_TRUE(url.has_value());
    db_ = std::make_unique<pg::PgConnection>(config::Secret(*url),
                                             pg::PgOptions{.application_name = "generator-test"});
    tenant_ = unique_name("gen-settings");
    ASSERT_TRUE(exec("INSERT INTO tenants (id, name) VALUES ($1, 'test')", {tenant_}));
  }
  void TearDown() override {
    if (db_) (void)exec("DELETE FROM tenants WHERE id = $1", {tenant_});
  }

  Result<void> exec(const std::string& sql, const std::vector<pg::Param>& params) {
    auto done = db_->exec(sql, params);
    if (!done) return tl::unexpected(done.error());
    return {};
  }

  std::unique_ptr<pg::PgConnection> db_;
  std::string tenant_;
};

TEST_F(PgTenantSettingsTest, NewTenantGetsTheColumnDefaults) {
  PgTenantSettingsLoader loader(*db_);
  auto tenants = loader.load_all();
  ASSERT_TRUE(tenants.has_value()) << tenants.error().message;
  ASSERT_TRUE(tenants->contains(tenant_));
  EXPECT_EQ(tenants->at(tenant_), TenantSettings{});
}

TEST_F(PgTenantSettingsTest, ReadsEveryConfiguredColumn) {
  ASSERT_TRUE(
      exec("UPDATE tenants SET code_length = 8, ttl_seconds = 120, max_attempts = 3, "
           "resend_policy = 'same', resend_cooldown_seconds = 45, "
           "sends_per_destination = 7, window_seconds = 900, "
           "failure_lock_threshold = 20, allowed_channels = '{email,sms}', "
           "allowed_countries = '{GB,DE}', "
           "test_numbers = '{\"+15005550006\": \"123456\"}', "
           "send_rate_per_second = 2.5, send_burst = 10, "
           "channel_fallback = '{whatsapp,email}', failure_lock_seconds = 1800 WHERE id = $1",
           {tenant_}));
  PgTenantSettingsLoader loader(*db_);
  auto tenants = loader.load_all();
  ASSERT_TRUE(tenants.has_value()) << tenants.error().message;
  const TenantSettings& s = tenants->at(tenant_);
  EXPECT_EQ(s.code_length, 8);
  EXPECT_EQ(s.ttl, 120s);
  EXPECT_EQ(s.max_attempts, 3);
  EXPECT_EQ(s.resend_policy, ResendPolicy::kSame);
  EXPECT_EQ(s.resend_cooldown, 45s);
  EXPECT_EQ(s.sends_per_destination, 7);
  EXPECT_EQ(s.send_window, 900s);
  EXPECT_EQ(s.failure_lock_threshold, 20);
  EXPECT_EQ(s.allowed_channels,
            (std::set<messages::Channel>{messages::Channel::kEmail, messages::Channel::kSms}));
  EXPECT_EQ(s.allowed_countries, (std::set<std::string>{"GB", "DE"}));
  EXPECT_EQ(*s.test_code("+15005550006"), "123456");
  EXPECT_DOUBLE_EQ(s.send_rate_per_second, 2.5);
  EXPECT_EQ(s.send_burst, 10);
  EXPECT_EQ(s.channel_fallback, (std::vector<messages::Channel>{messages::Channel::kWhatsapp,
                                                                messages::Channel::kEmail}));
  EXPECT_EQ(s.failure_lock_duration, std::optional<std::chrono::seconds>(1800s));
}

TEST_F(PgTenantSettingsTest, CheckConstraintsRefuseValuesOutsideTheirRange) {
  for (const char* assignment :
       {"code_length = 3", "code_length = 11", "ttl_seconds = 9", "ttl_seconds = 86401",
        "channel_fallback = '{sms,fax}'", "failure_lock_seconds = 0",
        "failure_lock_seconds = 86401", "max_attempts = 0", "max_attempts = 11",
        "resend_policy = 'maybe'", "allowed_channels = '{sms,fax}'", "allowed_countries = '{us}'",
        "test_numbers = '[]'", "send_rate_per_second = 0", "send_burst = 0"}) {
    auto done = exec(std::string("UPDATE tenants SET ") + assignment + " WHERE id = $1", {tenant_});
    ASSERT_FALSE(done.has_value()) << assignment;
    EXPECT_EQ(done.error().code, Errc::kInvalidInput) << assignment;
  }
}

TEST_F(PgTenantSettingsTest, CacheSeesAnUpdateAfterItsRefresh) {
  PgTenantSettingsLoader loader(*db_);
  SystemClock clock;
  CachedTenantSettings cache([&loader] { return loader.load_all(); }, clock, 100ms);
  ASSERT_EQ(cache.find(tenant_).value()->code_length, 6);
  ASSERT_TRUE(exec("UPDATE tenants SET code_length = 9 WHERE id = $1", {tenant_}));
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  int length = 6;
  while (length != 9 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
    length = cache.find(tenant_).value()->code_length;
  }
  EXPECT_EQ(length, 9);
}

}  // namespace
}  // namespace otp::generator
