#include "common/crypto/base64.h"
#include "services/intake/auth/api_key_cache.h"
#include "services/intake/auth/api_key_secret.h"
#include "services/intake/auth/oauth_token_handler.h"
#include "tests/support/fake_clock.h"
#include "tests/support/seeded_rng.h"
#include "tests/unit/services/intake/auth_test_keys.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace otp::intake::auth {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::FakeKeyLoader;

constexpr char kKey[] = "ak_00000000000000000000aaaa";
constexpr char kSecret[] = "sk_secret/with+chars=";
constexpr char kForm[] = "application/x-www-form-urlencoded";

std::string basic(std::string_view key, std::string_view secret) {
  return "Basic " + crypto::base64_encode(std::string(key) + ":" + std::string(secret));
}

HttpRequest token_request(std::string body, std::vector<HttpHeader> headers = {}) {
  HttpRequest request;
  request.method = "POST";
  request.path = "/oauth/token";
  request.headers = std::move(headers);
  request.headers.emplace_back("Content-Type", kForm);
  request.body = std::move(body);
  return request;
}

class OAuthTokenTest : public ::testing::Test {
 protected:
  OAuthTokenTest() {
    loader_.set({ApiKeyRecord{.id = kKey,
                              .tenant = "acme",
                              .secret_hash = hash_api_secret(rng_, kSecret),
                              .scopes = kScopeSend | kScopeVerify}});
    EXPECT_TRUE(cache_.refresh().has_value());
  }

  static void expect_error(const HttpResponse& response, int status, const std::string& error) {
    EXPECT_EQ(response.status, status) << response.body;
    const auto body = json::parse(response.body, nullptr, false);
    EXPECT_EQ(body.value("error", ""), error) << response.body;
    EXPECT_FALSE(body.contains("access_token"));
  }

  test::SeededRng rng_{5};
  ::otp::testing::FakeClock clock_;
  FakeKeyLoader loader_;
  ApiKeyCache cache_{loader_};
  const crypto::KeyRing ring_ = testing::jwt_ring();
  const AccessTokenCodec codec_{ring_};
  const DevKeyAuthenticator dev_{"dev", "devkey", config::Secret("dev-secret")};
  const ApiAuthenticator authenticator_{{.dev_key = &dev_, .keys = &cache_, .tokens = &codec_},
                                        clock_};
  const OAuthTokenHandler handler_{authenticator_, codec_, clock_, 600s};
};

TEST_F(OAuthTokenTest, BasicClientAuthenticationIssuesAWorkingBearerToken) {
  const auto response = handler_.handle(
      token_request("grant_type=client_credentials", {{"Authorization", basic(kKey, kSecret)}}));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("Cache-Control"), "no-store");
  EXPECT_EQ(response.header("Pragma"), "no-cache");
  const auto body = json::parse(response.body);
  EXPECT_EQ(body["token_type"], "Bearer");
  EXPECT_EQ(body["expires_in"], 600);
  EXPECT_EQ(body["scope"], "send verify");
  const std::string token = body["access_token"];
  EXPECT_EQ(token.find(kSecret), std::string::npos);

  HttpRequest api_call;
  api_call.headers = {{"Authorization", "Bearer " + token}};
  auto tenant = authenticator_.authenticate_request(api_call);
  ASSERT_TRUE(tenant.has_value()) << tenant.error().message;
  EXPECT_EQ(tenant->id, "acme");
  EXPECT_EQ(tenant->key_id, kKey);
  clock_.advance(600s);
  EXPECT_FALSE(authenticator_.authenticate_request(api_call).has_value()) << "expired";
}

TEST_F(OAuthTokenTest, FormClientCredentialsAndANarrowerScope) {
  const auto response = handler_.handle(
      token_request("grant_type=client_credentials&client_id=ak_00000000000000000000aaaa"
                    "&client_secret=sk_secret%2Fwith%2Bchars%3D&scope=verify"));
  ASSERT_EQ(response.status, 200) << response.body;
  const auto body = json::parse(response.body);
  EXPECT_EQ(body["scope"], "verify");
  auto claims = codec_.verify(body["access_token"].get<std::string>(), clock_.now());
  ASSERT_TRUE(claims.has_value());
  EXPECT_EQ(claims->scopes, kScopeVerify);
  EXPECT_EQ(claims->expires_at, clock_.now() + 600s);
}

TEST_F(OAuthTokenTest, TheDevKeyGetsTokensToo) {
  const auto response = handler_.handle(token_request(
      "grant_type=client_credentials", {{"Authorization", basic("devkey", "dev-secret")}}));
  ASSERT_EQ(response.status, 200) << response.body;
  HttpRequest api_call;
  api_call.headers = {
      {"Authorization", "Bearer " + json::parse(response.body)["access_token"].get<std::string>()}};
  auto tenant = authenticator_.authenticate_request(api_call);
  ASSERT_TRUE(tenant.has_value());
  EXPECT_EQ(tenant->id, "dev");
}

TEST_F(OAuthTokenTest, BadClientsAreInvalidClientWithAChallenge) {
  for (const auto& request : {
           token_request("grant_type=client_credentials", {{"Authorization", basic(kKey, "no")}}),
           token_request("grant_type=client_credentials&client_id=" + std::string(kKey) +
                         "&client_secret=no"),
           token_request("grant_type=client_credentials&client_id=" + std::string(kKey)),
           token_request("grant_type=client_credentials"),
           token_request("grant_type=client_credentials", {{"Authorization", "Basic !!"}}),
           token_request("grant_type=client_credentials", {{"Authorization", "Bearer x.y.z"}}),
       }) {
    const auto response = handler_.handle(request);
    expect_error(response, 401, "invalid_client");
    EXPECT_EQ(response.header("WWW-Authenticate"), "Basic realm=\"otp\"");
  }
}

TEST_F(OAuthTokenTest, ProtocolErrorsFollowRfc6749) {
  expect_error(handler_.handle(token_request("", {{"Authorization", basic(kKey, kSecret)}})), 400,
               "invalid_request");
  expect_error(handler_.handle(
                   token_request("grant_type=password", {{"Authorization", basic(kKey, kSecret)}})),
               400, "unsupported_grant_type");
  expect_error(handler_.handle(token_request("grant_type=client_credentials&scope=read",
                                             {{"Authorization", basic(kKey, kSecret)}})),
               400, "invalid_scope");
  expect_error(handler_.handle(token_request("grant_type=client_credentials&scope=admin",
                                             {{"Authorization", basic(kKey, kSecret)}})),
               400, "invalid_scope");
  expect_error(
      handler_.handle(token_request("grant_type=client_credentials&grant_type=client_credentials",
                                    {{"Authorization", basic(kKey, kSecret)}})),
      400, "invalid_request");
  expect_error(handler_.handle(token_request("grant_type=client_credentials&client_id=" +
                                                 std::string(kKey) + "&client_secret=x",
                                             {{"Authorization", basic(kKey, kSecret)}})),
               400, "invalid_request");
  expect_error(
      handler_.handle(token_request("grant_type=%zz", {{"Authorization", basic(kKey, kSecret)}})),
      400, "invalid_request");
  HttpRequest json_body = token_request(R"({"grant_type":"client_credentials"})",
                                        {{"Authorization", basic(kKey, kSecret)}});
  json_body.headers.back().second = "application/json";
  expect_error(handler_.handle(json_body), 400, "invalid_request");
}

TEST_F(OAuthTokenTest, UnavailableKeyStoreIs503) {
  FakeKeyLoader down;
  down.set_available(false);
  ApiKeyCache never_loaded(down);
  const ApiAuthenticator authenticator({.keys = &never_loaded, .tokens = &codec_}, clock_);
  const OAuthTokenHandler handler(authenticator, codec_, clock_, 600s);
  const auto response = handler.handle(
      token_request("grant_type=client_credentials", {{"Authorization", basic(kKey, kSecret)}}));
  expect_error(response, 503, "temporarily_unavailable");
  EXPECT_EQ(response.header("Retry-After"), "1");
}

TEST(ParseForm, DecodesAndRefusesRepeatsAndBadEscapes) {
  auto form = parse_form("a=1&b=x+y%2Bz&c&&d=%41%42");
  ASSERT_TRUE(form.has_value());
  EXPECT_EQ(form->at("a"), "1");
  EXPECT_EQ(form->at("b"), "x y+z");
  EXPECT_EQ(form->at("c"), "");
  EXPECT_EQ(form->at("d"), "AB");
  EXPECT_FALSE(parse_form("a=1&a=2"));
  EXPECT_FALSE(parse_form("a=%4"));
  EXPECT_FALSE(parse_form("a=%"));
  EXPECT_FALSE(parse_form("a=%g0"));
  EXPECT_TRUE(parse_form("")->empty());
}

}  // namespace
}  // namespace otp::intake::auth
