#include "common/crypto/base64.h"
#include "services/intake/auth/jwt.h"
#include "services/intake/auth/scopes.h"
#include "tests/support/fake_clock.h"
#include "tests/unit/services/intake/auth_test_keys.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace otp::intake::auth {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::jwt_ring;

const TimePoint kNow = from_unix_ms(1'800'000'000'000);

AccessTokenClaims claims(TimePoint issued = kNow, std::chrono::seconds ttl = 900s) {
  return AccessTokenClaims{.tenant = "acme",
                           .key_id = "ak_0123456789abcdef01234567",
                           .scopes = kScopeSend | kScopeRead,
                           .issued_at = issued,
                           .expires_at = issued + ttl};
}

std::int64_t secs(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

json default_payload() {
  return json{{"iss", "otp-intake"},     {"sub", "ak_0123456789abcdef01234567"},
              {"tenant", "acme"},        {"scope", "send"},
              {"iat", secs(kNow)},       {"nbf", secs(kNow)},
              {"exp", secs(kNow + 900s)}};
}

// A token with a chosen header and payload, signed (HS256) with the ring's key `kid_for_key`.
std::string forge(const json& header, const json& payload, const crypto::KeyRing& ring,
                  const char* kid_for_key = "new") {
  std::string input =
      crypto::base64url_encode(header.dump()) + "." + crypto::base64url_encode(payload.dump());
  return input + "." + hs256_signature(*ring.find(kid_for_key), input);
}

void expect_refused(const AccessTokenCodec& codec, const std::string& token,
                    const std::string& reason, TimePoint now = kNow) {
  auto verified = codec.verify(token, now);
  ASSERT_FALSE(verified.has_value()) << reason;
  EXPECT_EQ(verified.error().code, Errc::kInvalidInput);
  EXPECT_NE(verified.error().message.find(reason), std::string::npos) << verified.error().message;
}

TEST(AccessTokenCodec, SignsWithTheFirstKeyAndVerifiesItsOwnTokens) {
  const auto ring = jwt_ring();
  const AccessTokenCodec codec(ring);
  const std::string token = codec.sign(claims());
  ASSERT_TRUE(AccessTokenCodec::looks_like_jwt(token));
  const auto header = json::parse(*crypto::base64url_decode(token.substr(0, token.find('.'))));
  EXPECT_EQ(header, (json{{"alg", "HS256"}, {"typ", "JWT"}, {"kid", "new"}}));

  auto verified = codec.verify(token, kNow + 899s);
  ASSERT_TRUE(verified.has_value()) << verified.error().message;
  EXPECT_EQ(verified->tenant, "acme");
  EXPECT_EQ(verified->key_id, "ak_0123456789abcdef01234567");
  EXPECT_EQ(verified->scopes, kScopeSend | kScopeRead);
  EXPECT_EQ(verified->expires_at, kNow + 900s);
}

TEST(AccessTokenCodec, RotationOldKeysStillVerifyRemovedKeysDoNot) {
  const auto ring = jwt_ring();
  const std::string by_old =
      forge({{"alg", "HS256"}, {"kid", "old"}}, default_payload(), ring, "old");
  EXPECT_TRUE(AccessTokenCodec(ring).verify(by_old, kNow).has_value());

  const auto only_new = jwt_ring("new:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
  expect_refused(AccessTokenCodec(only_new), by_old, "unknown kid");
}

TEST(AccessTokenCodec, RefusesTamperedSignaturePayloadAndHeader) {
  const auto ring = jwt_ring();
  const AccessTokenCodec codec(ring);
  const std::string token = codec.sign(claims());
  const auto dot2 = token.rfind('.');

  std::string bad_signature = token;
  bad_signature[dot2 + 5] = bad_signature[dot2 + 5] == 'A' ? 'B' : 'A';
  expect_refused(codec, bad_signature, "bad signature");

  // Another tenant in the payload, original signature.
  json payload = default_payload();
  payload["tenant"] = "evil";
  const std::string swapped =
      crypto::base64url_encode(json{{"alg", "HS256"}, {"typ", "JWT"}, {"kid", "new"}}.dump()) +
      "." + crypto::base64url_encode(payload.dump()) + token.substr(dot2);
  expect_refused(codec, swapped, "bad signature");

  // Signed with a key the server does not have, under a kid it does have.
  const auto stranger = jwt_ring("new:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=");
  expect_refused(codec, forge({{"alg", "HS256"}, {"kid", "new"}}, default_payload(), stranger),
                 "bad signature");
}

TEST(AccessTokenCodec, RefusesAlgNoneAndEveryOtherAlgorithm) {
  const auto ring = jwt_ring();
  const AccessTokenCodec codec(ring);
  const std::string unsigned_token = crypto::base64url_encode(json{{"alg", "none"}}.dump()) + "." +
                                     crypto::base64url_encode(default_payload().dump()) + ".";
  expect_refused(codec, unsigned_token, "empty segment");
  for (const char* alg : {"none", "None", "RS256", "HS512", "HS384", "hs256", ""}) {
    expect_refused(codec, forge({{"alg", alg}, {"kid", "new"}}, default_payload(), ring),
                   "algorithm must be HS256");
  }
  expect_refused(codec, forge({{"kid", "new"}}, default_payload(), ring),
                 "algorithm must be HS256");
  expect_refused(codec,
                 forge({{"alg", json::array({"HS256"})}, {"kid", "new"}}, default_payload(), ring),
                 "algorithm must be HS256");
}

TEST(AccessTokenCodec, RequiresAKnownKidAndAJwtTyp) {
  const auto ring = jwt_ring();
  const AccessTokenCodec codec(ring);
  expect_refused(codec, forge({{"alg", "HS256"}}, default_payload(), ring), "kid is required");
  expect_refused(codec, forge({{"alg", "HS256"}, {"kid", "k9"}}, default_payload(), ring),
                 "unknown kid");
  expect_refused(codec, forge({{"alg", "HS256"}, {"kid", 1}}, default_payload(), ring),
                 "kid is required");
  expect_refused(
      codec,
      forge({{"alg", "HS256"}, {"kid", "new"}, {"typ", "JOSE+JSON"}}, default_payload(), ring),
      "typ must be JWT");
  expect_refused(
      codec, forge({{"alg", "HS256"}, {"kid", "new"}, {"crit", {"exp"}}}, default_payload(), ring),
      "critical");
}

TEST(AccessTokenCodec, ChecksExpNbfAndIat) {
  const auto ring = jwt_ring();
  const AccessTokenCodec codec(ring);
  const json header = {{"alg", "HS256"}, {"kid", "new"}};

  const std::string token = codec.sign(claims(kNow, 60s));
  EXPECT_TRUE(codec.verify(token, kNow + 59s).has_value());
  expect_refused(codec, token, "expired", kNow + 60s);
  expect_refused(codec, token, "expired", kNow + 24h);

  json payload = default_payload();
  payload["nbf"] = secs(kNow + 31s);
  expect_refused(codec, forge(header, payload, ring), "not valid yet");
  payload["nbf"] = secs(kNow + 30s);  // within the clock-skew leeway
  EXPECT_TRUE(codec.verify(forge(header, payload, ring), kNow).has_value());

  payload = default_payload();
  payload["iat"] = secs(kNow + 120s);
  expect_refused(codec, forge(header, payload, ring), "issued in the future");

  payload = default_payload();
  payload.erase("exp");
  expect_refused(codec, forge(header, payload, ring), "exp is required");
  payload = default_payload();
  payload["exp"] = std::to_string(secs(kNow + 900s));
  expect_refused(codec, forge(header, payload, ring), "exp is required");
  payload["exp"] = static_cast<double>(secs(kNow + 900s)) + 0.5;
  expect_refused(codec, forge(header, payload, ring), "exp is required");
  payload = default_payload();
  payload.erase("iat");
  expect_refused(codec, forge(header, payload, ring), "iat is required");
  payload = default_payload();
  payload["nbf"] = "now";
  expect_refused(codec, forge(header, payload, ring), "nbf must be an integer");
}

TEST(AccessTokenCodec, RequiresOurClaims) {
  const auto ring = jwt_ring();
  const AccessTokenCodec codec(ring);
  const json header = {{"alg", "HS256"}, {"kid", "new"}};
  for (const char* claim : {"sub", "tenant", "scope", "iss"}) {
    json payload = default_payload();
    payload.erase(claim);
    auto verified = codec.verify(forge(header, payload, ring), kNow);
    EXPECT_FALSE(verified.has_value()) << claim;
  }
  json payload = default_payload();
  payload["scope"] = "send admin";
  expect_refused(codec, forge(header, payload, ring), "unknown scope");
  payload = default_payload();
  payload["iss"] = "someone-else";
  expect_refused(codec, forge(header, payload, ring), "unknown issuer");
}

TEST(AccessTokenCodec, MalformedTokensAreRefusedWithoutQuotingThem) {
  const auto ring = jwt_ring();
  const AccessTokenCodec codec(ring);
  const std::string good = codec.sign(claims());
  const std::vector<std::string> malformed = {
      "",
      ".",
      "..",
      "a.b",
      "a.b.c.d",
      good + ".x",
      good + "=",
      "!!!.@@@.###",
      crypto::base64url_encode(std::string("[1,2]")) + ".e30." + good.substr(good.rfind('.') + 1),
      "e30.e30.e30",
      std::string(5000, 'a') + ".b.c",
      std::string("\0\0.\xff.\x01", 6),
  };
  for (const auto& token : malformed) {
    auto verified = codec.verify(token, kNow);
    ASSERT_FALSE(verified.has_value()) << token.substr(0, 40);
    EXPECT_EQ(verified.error().code, Errc::kInvalidInput);
    if (token.size() > 8) {
      EXPECT_EQ(verified.error().message.find(token), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace otp::intake::auth
