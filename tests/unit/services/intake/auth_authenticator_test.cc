#include "common/crypto/base64.h"
#include "services/intake/api_router.h"
#include "services/intake/auth/api_key_cache.h"
#include "services/intake/auth/api_key_secret.h"
#include "services/intake/auth/jwt.h"
#include "services/intake/authenticator.h"
#include "tests/support/fake_clock.h"
#include "tests/support/seeded_rng.h"
#include "tests/unit/services/intake/auth_test_keys.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace otp::intake {
namespace {

using namespace std::chrono_literals;
using auth::ApiKeyRecord;
using auth::testing::FakeKeyLoader;

constexpr char kAcmeKey[] = "ak_00000000000000000000aaaa";
constexpr char kAcmeSecret[] = "sk_acme-secret";
constexpr char kReadKey[] = "ak_00000000000000000000bbbb";
constexpr char kReadSecret[] = "sk_read-only";
constexpr char kGlobexKey[] = "ak_00000000000000000000cccc";
constexpr char kGlobexSecret[] = "sk_globex";

HttpRequest with_headers(std::vector<HttpHeader> headers) {
  HttpRequest request;
  request.method = "GET";
  request.path = "/probe";
  request.headers = std::move(headers);
  return request;
}

std::string basic(std::string_view key, std::string_view secret) {
  return crypto::base64_encode(std::string(key) + ":" + std::string(secret));
}

class ApiAuthenticatorTest : public ::testing::Test {
 protected:
  ApiAuthenticatorTest() {
    loader_.set({record(kAcmeKey, "acme", kAcmeSecret, auth::kScopeAll),
                 record(kReadKey, "acme", kReadSecret, auth::kScopeRead),
                 record(kGlobexKey, "globex", kGlobexSecret, auth::kScopeAll)});
    EXPECT_TRUE(cache_.refresh().has_value());
  }

  ApiKeyRecord record(const char* id, const char* tenant, const char* secret, unsigned scopes) {
    return ApiKeyRecord{.id = id,
                        .tenant = tenant,
                        .secret_hash = auth::hash_api_secret(rng_, secret),
                        .scopes = scopes};
  }

  std::string token_for(const std::string& tenant, const std::string& key_id, unsigned scopes,
                        std::chrono::seconds ttl = 900s) {
    return codec_.sign({.tenant = tenant,
                        .key_id = key_id,
                        .scopes = scopes,
                        .issued_at = clock_.now(),
                        .expires_at = clock_.now() + ttl});
  }

  void expect_refused(const HttpRequest& request, Errc code = Errc::kInvalidInput) {
    auto tenant = authenticator_.authenticate_request(request);
    ASSERT_FALSE(tenant.has_value()) << tenant->id;
    EXPECT_EQ(tenant.error().code, code) << tenant.error().message;
  }

  test::SeededRng rng_{3};
  testing::FakeClock clock_;
  FakeKeyLoader loader_;
  auth::ApiKeyCache cache_{loader_};
  const crypto::KeyRing ring_ = auth::testing::jwt_ring();
  const auth::AccessTokenCodec codec_{ring_};
  const DevKeyAuthenticator dev_{"dev", "dev", config::Secret("dev-secret")};
  const ApiAuthenticator authenticator_{{.dev_key = &dev_, .keys = &cache_, .tokens = &codec_},
                                        clock_};
};

TEST_F(ApiAuthenticatorTest, EveryMethodAuthenticatesADatabaseKey) {
  const std::vector<HttpRequest> requests = {
      with_headers({{"X-API-Key", kAcmeKey}, {"X-API-Secret", kAcmeSecret}}),
      with_headers({{"Authorization", "Basic " + basic(kAcmeKey, kAcmeSecret)}}),
      with_headers({{"authorization", "basic  " + basic(kAcmeKey, kAcmeSecret) + " "}}),
      with_headers({{"Authorization", "Bearer " + basic(kAcmeKey, kAcmeSecret)}}),
      with_headers({{"Authorization", "Bearer " + token_for("acme", kAcmeKey, auth::kScopeAll)}}),
  };
  for (const auto& request : requests) {
    auto tenant = authenticator_.authenticate_request(request);
    ASSERT_TRUE(tenant.has_value()) << request.headers[0].second << ": " << tenant.error().message;
    EXPECT_EQ(tenant->id, "acme");
    EXPECT_EQ(tenant->key_id, kAcmeKey);
    EXPECT_EQ(tenant->scopes, kAllScopes);
  }
}

TEST_F(ApiAuthenticatorTest, ScopesComeFromTheKey) {
  auto tenant = authenticator_.authenticate({.api_key = kReadKey, .api_secret = kReadSecret});
  ASSERT_TRUE(tenant.has_value());
  EXPECT_TRUE(tenant->allows(Scope::kRead));
  EXPECT_FALSE(tenant->allows(Scope::kSend));
  EXPECT_FALSE(tenant->allows(Scope::kVerify));

  // A token never grants more than the key has now.
  auto by_token = authenticator_.authenticate_token(token_for("acme", kReadKey, auth::kScopeAll));
  ASSERT_TRUE(by_token.has_value());
  EXPECT_EQ(by_token->scopes, static_cast<unsigned>(Scope::kRead));
  auto narrowed = authenticator_.authenticate_token(token_for("acme", kAcmeKey, auth::kScopeSend));
  ASSERT_TRUE(narrowed.has_value());
  EXPECT_EQ(narrowed->scopes, static_cast<unsigned>(Scope::kSend));
}

TEST_F(ApiAuthenticatorTest, WrongSecretsAndUnknownKeysAreRefusedInEveryForm) {
  for (const auto& request : {
           with_headers({{"X-API-Key", kAcmeKey}, {"X-API-Secret", kGlobexSecret}}),
           with_headers({{"X-API-Key", "ak_ffffffffffffffffffffffff"}, {"X-API-Secret", "x"}}),
           with_headers({{"Authorization", "Basic " + basic(kAcmeKey, "sk_acme-secreT")}}),
           with_headers({{"Authorization", "Bearer " + basic(kGlobexKey, kAcmeSecret)}}),
           with_headers({{"Authorization", "Basic " + basic("dev", "wrong")}}),
       }) {
    expect_refused(request);
  }
}

TEST_F(ApiAuthenticatorTest, MalformedAuthorizationHeadersAre401NeverACrash) {
  const std::vector<std::string> values = {
      "",
      "Basic",
      "Basic ",
      "Basic !!!",
      "Basic " + crypto::base64_encode(std::string("no-colon")),
      "Basic " + crypto::base64_encode(std::string(":secret")),
      "Basic " + crypto::base64_encode(std::string("key:")),
      "Basic " + basic(kAcmeKey, kAcmeSecret).substr(1),
      "Bearer",
      "Bearer a.b",
      "Bearer a.b.c",
      "Bearer ..",
      "Bearer " + std::string(10'000, 'x'),
      "Bearer " + std::string(10'000, '.'),
      "Digest username=\"x\"",
      "Token abc",
      std::string("Basic \0\0\0", 9),
      "\xff\xfe",
  };
  for (const auto& value : values) {
    SCOPED_TRACE(value.substr(0, 30));
    expect_refused(with_headers({{"Authorization", value}}));
  }
  // One of the two key headers alone is wrong, not missing.
  expect_refused(with_headers({{"X-API-Key", kAcmeKey}}));
  expect_refused(with_headers({{"X-API-Secret", kAcmeSecret}}));
  expect_refused(with_headers({{"X-API-Key", ""}, {"X-API-Secret", ""}}));
  // No credentials at all.
  expect_refused(with_headers({}), Errc::kNotFound);
}

TEST_F(ApiAuthenticatorTest, ExpiredForeignAndTamperedTokensAreRefused) {
  const std::string token = token_for("acme", kAcmeKey, auth::kScopeAll, 60s);
  clock_.advance(61s);
  expect_refused(with_headers({{"Authorization", "Bearer " + token}}));

  // A token claiming a tenant its key does not belong to (only the server can sign one, but
  // the key's tenant is checked anyway).
  expect_refused(with_headers(
      {{"Authorization", "Bearer " + token_for("globex", kAcmeKey, auth::kScopeAll)}}));
  // Signed by a key the server does not have.
  const auto other_ring =
      auth::testing::jwt_ring("new:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=");
  const auth::AccessTokenCodec stranger(other_ring);
  expect_refused(with_headers(
      {{"Authorization", "Bearer " + stranger.sign({.tenant = "acme",
                                                    .key_id = kAcmeKey,
                                                    .scopes = auth::kScopeAll,
                                                    .issued_at = clock_.now(),
                                                    .expires_at = clock_.now() + 60s})}}));
}

TEST_F(ApiAuthenticatorTest, RevocationReachesKeysAndTheirTokensAtTheNextRefresh) {
  const std::string token = token_for("acme", kAcmeKey, auth::kScopeAll);
  const auto by_key = with_headers({{"X-API-Key", kAcmeKey}, {"X-API-Secret", kAcmeSecret}});
  const auto by_token = with_headers({{"Authorization", "Bearer " + token}});
  ASSERT_TRUE(authenticator_.authenticate_request(by_key).has_value());
  ASSERT_TRUE(authenticator_.authenticate_request(by_token).has_value());

  loader_.set({record(kGlobexKey, "globex", kGlobexSecret, auth::kScopeAll)});
  ASSERT_TRUE(cache_.refresh().has_value());
  expect_refused(by_key);
  expect_refused(by_token);
  EXPECT_TRUE(authenticator_
                  .authenticate_request(
                      with_headers({{"X-API-Key", kGlobexKey}, {"X-API-Secret", kGlobexSecret}}))
                  .has_value());
}

TEST_F(ApiAuthenticatorTest, DevKeyAndItsTokensWork) {
  auto tenant = authenticator_.authenticate_request(
      with_headers({{"Authorization", "Basic " + basic("dev", "dev-secret")}}));
  ASSERT_TRUE(tenant.has_value());
  EXPECT_EQ(tenant->id, "dev");
  EXPECT_EQ(tenant->key_id, "");

  auto by_token = authenticator_.authenticate_token(token_for("dev", "dev:dev", auth::kScopeSend));
  ASSERT_TRUE(by_token.has_value()) << by_token.error().message;
  EXPECT_EQ(by_token->id, "dev");
  EXPECT_EQ(by_token->scopes, static_cast<unsigned>(Scope::kSend));
  // Another dev key id or tenant is not this dev key.
  EXPECT_FALSE(authenticator_.authenticate_token(token_for("dev", "dev:other", 7)).has_value());
  EXPECT_FALSE(authenticator_.authenticate_token(token_for("acme", "dev:dev", 7)).has_value());
}

TEST(ApiAuthenticator, FailsClosedUntilTheKeysAreLoadedButTheDevKeyStillWorks) {
  FakeKeyLoader loader;
  loader.set_available(false);
  auth::ApiKeyCache cache(loader);
  ASSERT_FALSE(cache.refresh().has_value());
  testing::FakeClock clock;
  const auto ring = auth::testing::jwt_ring();
  const auth::AccessTokenCodec codec(ring);
  const DevKeyAuthenticator dev("dev", "dev", config::Secret("dev-secret"));
  const ApiAuthenticator authenticator({.dev_key = &dev, .keys = &cache, .tokens = &codec}, clock);

  auto unknown = authenticator.authenticate({.api_key = kAcmeKey, .api_secret = kAcmeSecret});
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, Errc::kUnavailable);
  auto token = authenticator.authenticate_token(codec.sign({.tenant = "acme",
                                                            .key_id = kAcmeKey,
                                                            .scopes = 7,
                                                            .issued_at = clock.now(),
                                                            .expires_at = clock.now() + 60s}));
  ASSERT_FALSE(token.has_value());
  EXPECT_EQ(token.error().code, Errc::kUnavailable);
  EXPECT_TRUE(authenticator.authenticate({.api_key = "dev", .api_secret = "dev-secret"}));
}

TEST(ApiAuthenticator, WithoutDatabaseOrTokensOnlyTheDevKey) {
  testing::FakeClock clock;
  const DevKeyAuthenticator dev("dev", "dev", config::Secret("dev-secret"));
  const ApiAuthenticator authenticator({.dev_key = &dev}, clock);
  EXPECT_TRUE(authenticator.authenticate({.api_key = "dev", .api_secret = "dev-secret"}));
  auto other = authenticator.authenticate({.api_key = kAcmeKey, .api_secret = kAcmeSecret});
  ASSERT_FALSE(other.has_value());
  EXPECT_EQ(other.error().code, Errc::kInvalidInput);
  auto token =
      authenticator.authenticate_request(with_headers({{"Authorization", "Bearer a.b.c"}}));
  ASSERT_FALSE(token.has_value());
  EXPECT_EQ(token.error().code, Errc::kInvalidInput);
}

// Through the router: 401, 403 and 503 as docs/http-api.md says.
TEST_F(ApiAuthenticatorTest, RouterAnswers401For_BadCredentials403ForAMissingScope) {
  ApiRouter router(authenticator_, std::size_t{16} * 1024);
  router.add(tenant_route("POST", "/probe", Scope::kSend, false),
             [](const RouteRequest& request, const ResponseCallback& respond) {
               HttpResponse response;
               response.body = request.tenant->id;
               respond(std::move(response));
             });
  const auto call = [&router](std::vector<HttpHeader> headers) {
    HttpRequest request = with_headers(std::move(headers));
    request.method = "POST";
    HttpResponse out;
    int calls = 0;
    router.handle(request, [&](HttpResponse response) {
      out = std::move(response);
      ++calls;
    });
    EXPECT_EQ(calls, 1);
    return out;
  };
  auto ok = call({{"Authorization", "Basic " + basic(kAcmeKey, kAcmeSecret)}});
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "acme");
  EXPECT_EQ(call({{"Authorization", "Basic " + basic(kAcmeKey, "nope")}}).status, 401);
  EXPECT_EQ(call({}).status, 401);
  EXPECT_EQ(call({{"Authorization", "Bearer garbage"}}).status, 401);
  auto forbidden = call({{"X-API-Key", kReadKey}, {"X-API-Secret", kReadSecret}});
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_NE(forbidden.body.find("forbidden"), std::string::npos);
  EXPECT_EQ(
      call({{"Authorization", "Bearer " + token_for("acme", kAcmeKey, auth::kScopeVerify)}}).status,
      403);
}

}  // namespace
}  // namespace otp::intake
