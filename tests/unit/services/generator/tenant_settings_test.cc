#include "services/generator/tenant_settings.h"

#include "services/generator/pg_tenant_settings.h"
#include "services/generator/recipient_region.h"
#include "tests/support/fake_clock.h"

#include <gtest/gtest.h>

namespace otp::generator {
namespace {

using namespace std::chrono_literals;
using messages::Channel;

class CachedTenantSettingsTest : public ::testing::Test {
 protected:
  Result<TenantSettingsMap> load() {
    ++loads_;
    if (down_) return fail(Errc::kUnavailable, "connection refused");
    return table_;
  }

  otp::testing::FakeClock clock_;
  TenantSettingsMap table_{{"acme", TenantSettings{}}};
  bool down_ = false;
  int loads_ = 0;
  CachedTenantSettings cache_{[this] { return load(); }, clock_, 5s};
};

TEST_F(CachedTenantSettingsTest, AnswersKnownAndUnknownTenantsFromOneLoad) {
  auto acme = cache_.find("acme");
  ASSERT_TRUE(acme.has_value());
  ASSERT_TRUE(acme->has_value());
  EXPECT_EQ(**acme, TenantSettings{});
  auto other = cache_.find("other");
  ASSERT_TRUE(other.has_value());
  EXPECT_FALSE(other->has_value());
  EXPECT_EQ(loads_, 1);
}

TEST_F(CachedTenantSettingsTest, PicksUpChangesAfterTheRefreshInterval) {
  ASSERT_TRUE(cache_.find("acme").has_value());
  table_["acme"].code_length = 8;
  table_["beta"] = TenantSettings{};
  clock_.advance(4s);
  EXPECT_EQ(cache_.find("acme").value()->code_length, 6);
  EXPECT_FALSE(cache_.find("beta").value().has_value());
  clock_.advance(1s);
  EXPECT_EQ(cache_.find("acme").value()->code_length, 8);
  EXPECT_TRUE(cache_.find("beta").value().has_value());
  EXPECT_EQ(loads_, 2);
}

TEST_F(CachedTenantSettingsTest, OutageKeepsTheLastGoodSettingsAndRetriesOncePerInterval) {
  ASSERT_TRUE(cache_.find("acme").has_value());
  down_ = true;
  clock_.advance(5s);
  for (int i = 0; i < 10; ++i) {
    auto acme = cache_.find("acme");
    ASSERT_TRUE(acme.has_value());
    EXPECT_TRUE(acme->has_value());
  }
  EXPECT_EQ(loads_, 2);
  down_ = false;
  table_.erase("acme");
  clock_.advance(5s);
  EXPECT_FALSE(cache_.find("acme").value().has_value());
}

TEST_F(CachedTenantSettingsTest, NeverLoadedIsUnavailableWhateverTheCause) {
  down_ = true;
  auto first = cache_.find("acme");
  ASSERT_FALSE(first.has_value());
  EXPECT_EQ(first.error().code, Errc::kUnavailable);
  clock_.advance(5s);
  down_ = false;
  EXPECT_TRUE(cache_.find("acme").value().has_value());
}

TEST(StaticTenantSettings, KnowsEveryTenant) {
  TenantSettings settings;
  settings.code_length = 7;
  StaticTenantSettings tenants(settings);
  EXPECT_EQ(tenants.find("anyone").value()->code_length, 7);
}

pg::Row default_row() {
  return {
      "acme",       "6",  "600", "5",   "new", "30",        "5", "600", "100", "sms,email,whatsapp",
      std::nullopt, "{}", "50",  "100", "",    std::nullopt};
}

TEST(PgTenantSettingsLoader, ParsesTheColumnDefaultsAsTheStructDefaults) {
  auto parsed = PgTenantSettingsLoader::parse_row(default_row());
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->first, "acme");
  EXPECT_EQ(parsed->second, TenantSettings{});
}

TEST(PgTenantSettingsLoader, ParsesEveryColumn) {
  pg::Row row = {"acme",  "8",     "120",
                 "3",     "same",  "45",
                 "7",     "900",   "20",
                 "email", "GB,DE", R"({"+15005550006": "123456"})",
                 "2.5",   "10",    "whatsapp,email,whatsapp",
                 "1800"};
  auto parsed = PgTenantSettingsLoader::parse_row(row);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  const TenantSettings& s = parsed->second;
  EXPECT_EQ(s.code_length, 8);
  EXPECT_EQ(s.ttl, 120s);
  EXPECT_EQ(s.max_attempts, 3);
  EXPECT_EQ(s.resend_policy, ResendPolicy::kSame);
  EXPECT_EQ(s.resend_cooldown, 45s);
  EXPECT_EQ(s.sends_per_destination, 7);
  EXPECT_EQ(s.send_window, 900s);
  EXPECT_EQ(s.failure_lock_threshold, 20);
  EXPECT_EQ(s.allowed_channels, std::set<Channel>{Channel::kEmail});
  EXPECT_EQ(s.allowed_countries, (std::set<std::string>{"GB", "DE"}));
  EXPECT_EQ(s.test_numbers, (std::map<std::string, std::string>{{"+15005550006", "123456"}}));
  EXPECT_DOUBLE_EQ(s.send_rate_per_second, 2.5);
  EXPECT_EQ(s.send_burst, 10);
  EXPECT_EQ(s.channel_fallback, (std::vector<Channel>{Channel::kWhatsapp, Channel::kEmail}));
  EXPECT_EQ(s.failure_lock_duration, std::optional<std::chrono::seconds>(1800s));
  EXPECT_FALSE(s.allows(Channel::kSms));
  EXPECT_TRUE(s.allows_region("GB"));
  EXPECT_FALSE(s.allows_region("US"));
  EXPECT_FALSE(s.allows_region(""));
}

TEST(PgTenantSettingsLoader, EmptyCountryListAllowsNoCountry) {
  auto row = default_row();
  row[10] = "";
  auto parsed = PgTenantSettingsLoader::parse_row(row);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_FALSE(parsed->second.allows_region("US"));
}

TEST(PgTenantSettingsLoader, RejectsValuesOutsideTheirRange) {
  const std::vector<std::pair<std::size_t, std::string>> bad = {{1, "3"},
                                                                {1, "11"},
                                                                {2, "9"},
                                                                {3, "0"},
                                                                {4, "other"},
                                                                {9, "sms,fax"},
                                                                {11, "[]"},
                                                                {11, R"({"+15005550006": "12"})"},
                                                                {11, R"({"15005550006": "1234"})"},
                                                                {12, "0"},
                                                                {12, "x"},
                                                                {13, "0"},
                                                                {14, "sms,fax"},
                                                                {15, "0"},
                                                                {15, "86401"},
                                                                {0, ""}};
  for (const auto& [column, value] : bad) {
    auto row = default_row();
    row[column] = value;
    if (column == 0) row[column] = std::nullopt;
    EXPECT_FALSE(PgTenantSettingsLoader::parse_row(row).has_value())
        << "column " << column << " = " << value;
  }
}

TEST(PhoneFacts, RegionAndPrefixOfValidNumbers) {
  auto us = phone_facts("+14155552671");
  EXPECT_EQ(us.country, "US");
  EXPECT_EQ(us.number_prefix, "+1415");
  auto gb = phone_facts("+442071838750");
  EXPECT_EQ(gb.country, "GB");
  EXPECT_EQ(gb.number_prefix, "+44207");
  // Country codes shared by several regions resolve to the right one.
  EXPECT_EQ(phone_facts("+16045551234").country, "CA");
  EXPECT_EQ(phone_facts("+18765550123").country, "JM");
  EXPECT_EQ(phone_facts("+17875550123").country, "PR");
  EXPECT_EQ(phone_facts("+79161234567").country, "RU");
  EXPECT_EQ(phone_facts("+77012345678").country, "KZ");
  // A leading zero that belongs to the number (Italy).
  auto it = phone_facts("+390612345678");
  EXPECT_EQ(it.country, "IT");
  EXPECT_EQ(it.number_prefix, "+39061");
}

TEST(PhoneFacts, UnknownRegionIsNull) {
  auto invalid = phone_facts("+11234567890");  // NANP area codes never start with 1
  EXPECT_FALSE(invalid.country.has_value());
  EXPECT_EQ(invalid.number_prefix, "+1123");
  auto toll_free = phone_facts("+80012345678");  // international freephone: region "001"
  EXPECT_FALSE(toll_free.country.has_value());
  EXPECT_EQ(toll_free.number_prefix, "+800123");
  EXPECT_FALSE(phone_facts("not a number").number_prefix.has_value());
}

}  // namespace
}  // namespace otp::generator
