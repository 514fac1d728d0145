#include "services/intake/auth/api_key_cache.h"
#include "services/intake/auth/api_key_secret.h"
#include "services/intake/auth/scopes.h"
#include "tests/support/seeded_rng.h"
#include "tests/unit/services/intake/auth_test_keys.h"

#include <gtest/gtest.h>

#include <regex>

namespace otp::intake::auth {
namespace {

using testing::FakeKeyLoader;

TEST(ApiKeySecret, GeneratesIdsSecretsAndSaltedHashes) {
  test::SeededRng rng(7);
  const NewApiKey key = generate_api_key(rng);
  EXPECT_TRUE(is_api_key_id(key.id)) << key.id;
  EXPECT_TRUE(std::regex_match(key.secret, std::regex("sk_[A-Za-z0-9_-]{43}"))) << key.secret;
  EXPECT_TRUE(
      std::regex_match(key.secret_hash, std::regex(R"(hmac-sha256\$[0-9a-f]{32}\$[0-9a-f]{64})")));
  EXPECT_EQ(key.secret_hash.find(key.secret), std::string::npos);
  EXPECT_TRUE(api_secret_matches(key.secret_hash, key.secret));

  // The same secret hashes differently under another salt, and both verify.
  const std::string again = hash_api_secret(rng, key.secret);
  EXPECT_NE(again, key.secret_hash);
  EXPECT_TRUE(api_secret_matches(again, key.secret));

  const NewApiKey other = generate_api_key(rng);
  EXPECT_NE(other.id, key.id);
  EXPECT_NE(other.secret, key.secret);
}

TEST(ApiKeySecret, WrongSecretsAndMalformedHashesMatchNothing) {
  test::SeededRng rng(8);
  const std::string stored = hash_api_secret(rng, "sk_right");
  for (const char* wrong : {"sk_righ", "sk_right ", "sk_Right", "", "sk_wrong"}) {
    EXPECT_FALSE(api_secret_matches(stored, wrong)) << wrong;
  }
  std::string flipped = stored;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  EXPECT_FALSE(api_secret_matches(flipped, "sk_right"));
  for (const std::string& malformed :
       {std::string(), std::string("sk_right"), std::string("sha256$") + stored.substr(12),
        stored.substr(0, stored.size() - 1), stored + "0"}) {
    EXPECT_FALSE(api_secret_matches(malformed, "sk_right")) << malformed;
  }
  // Upper-case hex is not the canonical form.
  std::string upper = stored;
  for (std::size_t i = 12; i < upper.size(); ++i)
    upper[i] = static_cast<char>(std::toupper(upper[i]));
  ASSERT_NE(upper, stored);
  EXPECT_FALSE(api_secret_matches(upper, "sk_right"));
}

TEST(ApiKeySecret, KeyIdShape) {
  EXPECT_TRUE(is_api_key_id("ak_0123456789abcdef01234567"));
  EXPECT_FALSE(is_api_key_id("ak_0123456789ABCDEF01234567"));
  EXPECT_FALSE(is_api_key_id("ak_0123456789abcdef0123456"));
  EXPECT_FALSE(is_api_key_id("dev"));
  EXPECT_FALSE(is_api_key_id("dev:ak_0123456789abcdef0123"));
}

TEST(Scopes, ParseAndFormat) {
  EXPECT_EQ(parse_scopes("send,verify,read", ','), kScopeAll);
  EXPECT_EQ(parse_scopes("read", ','), kScopeRead);
  EXPECT_EQ(parse_scopes("", ','), 0U);
  EXPECT_EQ(parse_scopes("verify  send", ' '), kScopeSend | kScopeVerify);
  auto unknown = parse_scopes("send,admin", ',');
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().message.find("admin"), std::string::npos);
  EXPECT_FALSE(parse_scopes("Send", ','));
  EXPECT_EQ(format_scopes(kScopeAll, ' '), "send verify read");
  EXPECT_EQ(format_scopes(kScopeRead | kScopeSend, ','), "send,read");
  EXPECT_EQ(format_scopes(0, ','), "");
}

ApiKeyRecord record(const std::string& id, const std::string& tenant) {
  return ApiKeyRecord{.id = id, .tenant = tenant, .secret_hash = "h", .scopes = kScopeAll};
}

TEST(ApiKeyCache, NothingBeforeTheFirstLoadThenTheLatestGoodSet) {
  FakeKeyLoader loader;
  ApiKeyCache cache(loader);
  EXPECT_EQ(cache.snapshot(), nullptr);

  loader.set_available(false);
  EXPECT_FALSE(cache.refresh().has_value());
  EXPECT_EQ(cache.snapshot(), nullptr) << "fail closed until a load succeeds";

  loader.set_available(true);
  loader.set({record("ak_1", "acme"), record("ak_2", "globex")});
  ASSERT_TRUE(cache.refresh().has_value());
  auto first = cache.snapshot();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->size(), 2U);
  EXPECT_EQ(first->at("ak_2").tenant, "globex");

  // A revocation: the next load no longer has the key.
  loader.set({record("ak_1", "acme")});
  ASSERT_TRUE(cache.refresh().has_value());
  EXPECT_EQ(cache.snapshot()->count("ak_2"), 0U);
  EXPECT_EQ(first->count("ak_2"), 1U) << "published sets are immutable";

  // The database goes away: the last good set stays.
  loader.set_available(false);
  EXPECT_FALSE(cache.refresh().has_value());
  ASSERT_NE(cache.snapshot(), nullptr);
  EXPECT_EQ(cache.snapshot()->count("ak_1"), 1U);
}

}  // namespace
}  // namespace otp::intake::auth
