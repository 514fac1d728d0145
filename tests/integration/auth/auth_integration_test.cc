// Authentication end to end: otp-intake as a subprocess with the stack's PostgreSQL
// (OTP_TEST_PG_URL) and Kafka (OTP_TEST_KAFKA_BROKERS), keys created with otpctl's functions
// (and once with the otpctl binary), requests over real HTTP. A send request that passes
// authentication but lacks a recipient answers 400: that is how these tests see "authenticated"
// without involving the generator. Every test uses its own tenants and topic prefix.

#include "common/crypto/base64.h"
#include "common/error/check.h"
#include "common/kafka/admin.h"
#include "common/messages/topics.h"
#include "common/pg/pg_connection.h"
#include "common/random/rng.h"
#include "services/intake/auth/jwt.h"
#include "services/intake/auth/scopes.h"
#include "services/otpctl/key_commands.h"
#include "services/otpctl/tenant_commands.h"
#include "tests/support/log_tail.h"
#include "tests/support/send_http.h"
#include "tests/support/stack_env.h"
#include "tests/support/subprocess.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace otp::intake {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;
namespace auth = intake::auth;

constexpr char kSealKeys[] = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
constexpr char kJwtKeys[] =
    "j2:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=,"
    "j1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
constexpr char kDevKey[] = "auth-dev";
constexpr char kDevSecret[] = "auth-dev-secret-0123456789";

using test::HttpReply;
using test::send_http;

std::string basic(const std::string& key, const std::string& secret) {
  return crypto::base64_encode(key + ":" + secret);
}

struct Key {
  std::string id;
  std::string secret;
};

class AuthIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pg_url_ = test::required_env("OTP_TEST_PG_URL");
    brokers_ = test::required_env("OTP_TEST_KAFKA_BROKERS");
    ASSERT_FALSE(pg_url_.empty() || brokers_.empty());
    db_.emplace(config::Secret(pg_url_), pg::PgOptions{.application_name = "auth-test"});
    OpenSslRng rng;
    suffix_ = random_hex(rng, 4);
    tenant_a_ = "auth-a-" + suffix_;
    tenant_b_ = "auth-b-" + suffix_;
    for (const auto& tenant : {tenant_a_, tenant_b_}) {
      auto created = otpctl::create_tenant(*db_, tenant, {{"--name", "auth test " + tenant}});
      ASSERT_TRUE(created.has_value()) << created.error().message;
    }
    prefix_ = "auth" + suffix_ + ".";
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    log_path_ =
        (std::filesystem::path(OTP_TEST_LOG_DIR) / (std::string(info->name()) + ".log")).string();
    std::filesystem::remove(log_path_);
    auto topics = kafka::ensure_topics(
        kafka::KafkaSettings{.brokers = brokers_, .client_id = "auth-test", .properties = {}},
        messages::Topics::with_prefix(prefix_).specs(), 1, 30s);
    ASSERT_TRUE(topics.has_value()) << topics.error().message;
  }

  void TearDown() override {
    if (intake_) intake_->terminate();
    if (HasFailure()) test::print_log_tail(log_path_, 30);
  }

  Key create_key(const std::string& tenant, unsigned scopes = auth::kScopeAll) {
    OpenSslRng rng;
    auto key = otpctl::create_key(*db_, rng, tenant, scopes, "integration test");
    OTP_CHECK(key.has_value());
    return Key{.id = key->id, .secret = key->secret};
  }

  /// Starts otp-intake and waits until the listener answers (/healthz).
  void start_intake(const std::vector<std::pair<std::string, std::string>>& overrides = {}) {
    port_ = test::free_loopback_port();
    std::vector<std::pair<std::string, std::string>> env = {
        {"OTP_KAFKA_BROKERS", brokers_},
        {"OTP_KAFKA_PROPERTIES", ""},
        {"OTP_TOPIC_PREFIX", prefix_},
        {"OTP_SEAL_KEYS", kSealKeys},
        {"OTP_DEV_TENANT", "dev"},
        {"OTP_DEV_API_KEY", kDevKey},
        {"OTP_DEV_API_SECRET", kDevSecret},
        {"OTP_HTTP_HOST", "127.0.0.1"},
        {"OTP_HTTP_PORT", std::to_string(port_)},
        {"OTP_PG_URL", pg_url_},
        {"OTP_JWT_KEYS", kJwtKeys},
        {"OTP_AUTH_REFRESH_MS", "300"},
        {"OTP_LOG_LEVEL", "debug"},
    };
    for (const auto& override_item : overrides) {
      std::erase_if(env, [&](const auto& item) { return item.first == override_item.first; });
      env.push_back(override_item);
    }
    auto process = test::Subprocess::start({OTP_INTAKE_BIN}, env, log_path_);
    ASSERT_TRUE(process.has_value()) << process.error().message;
    intake_ = std::move(*process);
    const bool up = test::eventually(30s, [this] {
      return send_http("GET", url("/healthz")).status == 200 || !intake_->running();
    });
    ASSERT_TRUE(up && intake_->running()) << "otp-intake did not start; see " << log_path_;
  }

  [[nodiscard]] std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  /// POST /otp/send for `appid` without a recipient: 400 once authenticated.
  HttpReply send(const std::string& appid, http::HeaderList headers) {
    headers.emplace_back("Content-Type", "application/json");
    return send_http("POST", url("/otp/send"), json{{"appid", appid}, {"channel", "sms"}}.dump(),
                     headers);
  }

  HttpReply token(const std::string& form, http::HeaderList headers = {}) {
    headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    return send_http("POST", url("/oauth/token"), form, std::move(headers));
  }

  std::string access_token(const Key& key, const std::string& scope = "") {
    auto reply = token("grant_type=client_credentials" + (scope.empty() ? "" : "&scope=" + scope),
                       {{"Authorization", "Basic " + basic(key.id, key.secret)}});
    EXPECT_EQ(reply.status, 200) << reply.body;
    return reply.body_json().value("access_token", "");
  }

  static http::HeaderList key_headers(const Key& key) {
    return {{"X-API-Key", key.id}, {"X-API-Secret", key.secret}};
  }

  std::string pg_url_;
  std::string brokers_;
  std::optional<pg::PgConnection> db_;
  std::string suffix_;
  std::string tenant_a_;
  std::string tenant_b_;
  std::string prefix_;
  std::string log_path_;
  int port_ = 0;
  std::optional<test::Subprocess> intake_;
};

TEST_F(AuthIntegrationTest, EveryMethodAuthenticatesADatabaseKeyAndWrongSecretsAre401) {
  const Key key = create_key(tenant_a_);
  start_intake();
  // The token endpoint, too, answers 503 until the first key load (it raced that under load).
  ASSERT_TRUE(test::eventually(5s, [&] {
    return token("grant_type=client_credentials",
                 {{"Authorization", "Basic " + basic(key.id, key.secret)}})
               .status != 503;
  }));
  const std::string jwt = access_token(key);
  ASSERT_FALSE(jwt.empty());
  const std::vector<http::HeaderList> methods = {
      key_headers(key),
      {{"Authorization", "Basic " + basic(key.id, key.secret)}},
      {{"Authorization", "Bearer " + basic(key.id, key.secret)}},
      {{"Authorization", "Bearer " + jwt}},
  };
  for (const auto& headers : methods) {
    // The first requests may race the first key load: 503 until then, never 401.
    HttpReply reply;
    ASSERT_TRUE(test::eventually(5s, [&] {
      reply = send(tenant_a_, headers);
      return reply.status != 503;
    }));
    EXPECT_EQ(reply.status, 400) << headers.front().first << ": " << headers.front().second << " "
                                 << reply.body;
  }

  const std::vector<http::HeaderList> wrong = {
      {{"X-API-Key", key.id}, {"X-API-Secret", key.secret + "x"}},
      {{"Authorization", "Basic " + basic(key.id, "sk_wrong")}},
      {{"Authorization", "Bearer " + basic(key.id, "sk_wrong")}},
      {{"Authorization", "Bearer " + jwt.substr(0, jwt.size() - 2) + "AA"}},
      {{"Authorization", "Basic not-base64!"}},
      {{"Authorization", "Bearer"}},
      {{"Authorization", "Negotiate abc"}},
      {},
  };
  for (const auto& headers : wrong) {
    const auto reply = send(tenant_a_, headers);
    EXPECT_EQ(reply.status, 401) << (headers.empty()
                                         ? "none"
                                         : headers.front().first + ": " + headers.front().second)
                                 << reply.body;
    EXPECT_EQ(reply.body_json()["error"]["code"], "unauthorized");
  }
  EXPECT_TRUE(intake_->running());
}

TEST_F(AuthIntegrationTest, OAuthTokenEndpointSpeaksRfc6749) {
  const Key key = create_key(tenant_a_, auth::kScopeSend | auth::kScopeRead);
  start_intake();
  ASSERT_TRUE(test::eventually(5s, [&] {
    return token("grant_type=client_credentials",
                 {{"Authorization", "Basic " + basic(key.id, key.secret)}})
               .status == 200;
  }));
  const auto by_form = token("grant_type=client_credentials&client_id=" + key.id +
                             "&client_secret=" + key.secret + "&scope=send");
  ASSERT_EQ(by_form.status, 200) << by_form.body;
  const auto body = by_form.body_json();
  EXPECT_EQ(body["token_type"], "Bearer");
  EXPECT_EQ(body["expires_in"], 900);
  EXPECT_EQ(body["scope"], "send");

  const auto bad_client = token("grant_type=client_credentials",
                                {{"Authorization", "Basic " + basic(key.id, "sk_nope")}});
  EXPECT_EQ(bad_client.status, 401);
  EXPECT_EQ(bad_client.body_json()["error"], "invalid_client");
  EXPECT_EQ(bad_client.header("WWW-Authenticate"), "Basic realm=\"otp\"");
  const auto bad_grant =
      token("grant_type=password", {{"Authorization", "Basic " + basic(key.id, key.secret)}});
  EXPECT_EQ(bad_grant.status, 400);
  EXPECT_EQ(bad_grant.body_json()["error"], "unsupported_grant_type");
  const auto bad_scope = token("grant_type=client_credentials&scope=verify",
                               {{"Authorization", "Basic " + basic(key.id, key.secret)}});
  EXPECT_EQ(bad_scope.status, 400);
  EXPECT_EQ(bad_scope.body_json()["error"], "invalid_scope");
}

TEST_F(AuthIntegrationTest, AnotherTenantsAppidIs403) {
  const Key key_a = create_key(tenant_a_);
  start_intake();
  ASSERT_TRUE(
      test::eventually(5s, [&] { return send(tenant_a_, key_headers(key_a)).status == 400; }));
  const auto by_key = send(tenant_b_, key_headers(key_a));
  EXPECT_EQ(by_key.status, 403) << by_key.body;
  EXPECT_EQ(by_key.body_json()["error"]["code"], "forbidden");
  const auto by_token = send(tenant_b_, {{"Authorization", "Bearer " + access_token(key_a)}});
  EXPECT_EQ(by_token.status, 403) << by_token.body;
}

TEST_F(AuthIntegrationTest, AKeyWithoutTheRoutesScopeIs403) {
  const Key reader = create_key(tenant_a_, auth::kScopeRead);
  const Key full = create_key(tenant_a_);
  start_intake();
  ASSERT_TRUE(
      test::eventually(5s, [&] { return send(tenant_a_, key_headers(full)).status == 400; }));
  const auto by_key = send(tenant_a_, key_headers(reader));
  EXPECT_EQ(by_key.status, 403) << by_key.body;
  EXPECT_EQ(by_key.body_json()["error"]["code"], "forbidden");
  // A token asked for a narrower scope carries only that scope.
  const auto narrowed =
      send(tenant_a_, {{"Authorization", "Bearer " + access_token(full, "verify")}});
  EXPECT_EQ(narrowed.status, 403) << narrowed.body;
}

TEST_F(AuthIntegrationTest, RevocationReachesKeysAndTheirTokensWithinSeconds) {
  const Key key = create_key(tenant_a_);
  const Key other = create_key(tenant_a_);
  start_intake();
  ASSERT_TRUE(
      test::eventually(5s, [&] { return send(tenant_a_, key_headers(key)).status == 400; }));
  const std::string jwt = access_token(key);
  ASSERT_EQ(send(tenant_a_, {{"Authorization", "Bearer " + jwt}}).status, 400);

  auto revoked = otpctl::revoke_key(*db_, key.id);
  ASSERT_TRUE(revoked.has_value()) << revoked.error().message;
  EXPECT_EQ(*revoked, otpctl::Revocation::kRevoked);
  const auto revoked_at = SteadyClock::now();
  ASSERT_TRUE(test::eventually(
      5s, [&] { return send(tenant_a_, key_headers(key)).status == 401; }, 50ms));
  const auto took = SteadyClock::now() - revoked_at;
  EXPECT_LT(took, 3s) << "OTP_AUTH_REFRESH_MS is 300";
  EXPECT_EQ(send(tenant_a_, {{"Authorization", "Bearer " + jwt}}).status, 401);
  EXPECT_EQ(token("grant_type=client_credentials",
                  {{"Authorization", "Basic " + basic(key.id, key.secret)}})
                .status,
            401);
  EXPECT_EQ(send(tenant_a_, key_headers(other)).status, 400) << "other keys are unaffected";
  EXPECT_EQ(*otpctl::revoke_key(*db_, key.id), otpctl::Revocation::kAlreadyRevoked);
}

TEST_F(AuthIntegrationTest, ExpiredForgedAndForeignTokensAre401) {
  const Key key = create_key(tenant_a_);
  start_intake();
  ASSERT_TRUE(
      test::eventually(5s, [&] { return send(tenant_a_, key_headers(key)).status == 400; }));
  auto ring = crypto::KeyRing::parse(kJwtKeys);
  ASSERT_TRUE(ring.has_value());
  const auth::AccessTokenCodec codec(*ring);
  const auto now = std::chrono::system_clock::now();
  const auto sign = [&](TimePoint issued, std::chrono::seconds ttl, const std::string& tenant) {
    return codec.sign({.tenant = tenant,
                       .key_id = key.id,
                       .scopes = auth::kScopeAll,
                       .issued_at = issued,
                       .expires_at = issued + ttl});
  };
  ASSERT_EQ(send(tenant_a_, {{"Authorization", "Bearer " + sign(now, 60s, tenant_a_)}}).status, 400)
      << "a token signed with a configured key works";
  EXPECT_EQ(
      send(tenant_a_, {{"Authorization", "Bearer " + sign(now - 2h, 900s, tenant_a_)}}).status, 401)
      << "expired";
  EXPECT_EQ(
      send(tenant_a_, {{"Authorization", "Bearer " + sign(now + 10min, 900s, tenant_a_)}}).status,
      401)
      << "issued in the future";
  EXPECT_EQ(send(tenant_b_, {{"Authorization", "Bearer " + sign(now, 60s, tenant_b_)}}).status, 401)
      << "the key does not belong to that tenant";
  const std::string none = crypto::base64url_encode(std::string(R"({"alg":"none","kid":"j2"})")) +
                           "." +
                           crypto::base64url_encode(json{
                               {"iss", "otp-intake"},
                               {"sub", key.id},
                               {"tenant", tenant_a_},
                               {"scope", "send"}}.dump()) +
                           ".";
  EXPECT_EQ(send(tenant_a_, {{"Authorization", "Bearer " + none}}).status, 401) << "alg none";
}

TEST_F(AuthIntegrationTest, DevKeyWorksAlongsideAndTheDatabaseBeingDownFailsClosed) {
  const Key key = create_key(tenant_a_);
  // A closed port: the key set never loads.
  const int closed = test::free_loopback_port();
  start_intake({{"OTP_PG_URL", "postgresql://otp@127.0.0.1:" + std::to_string(closed) + "/otp"}});
  const auto db_key = send(tenant_a_, key_headers(key));
  EXPECT_EQ(db_key.status, 503) << db_key.body;
  EXPECT_EQ(db_key.body_json()["error"]["code"], "unavailable");
  const auto dev = send("dev", {{"X-API-Key", kDevKey}, {"X-API-Secret", kDevSecret}});
  EXPECT_EQ(dev.status, 400) << dev.body;
  const auto oauth = token("grant_type=client_credentials",
                           {{"Authorization", "Basic " + basic(key.id, key.secret)}});
  EXPECT_EQ(oauth.status, 503);
  EXPECT_EQ(oauth.body_json()["error"], "temporarily_unavailable");
}

TEST_F(AuthIntegrationTest, OtpctlBinaryShowsTheSecretOnceAndNeverLists) {
  const auto run = [this](std::vector<std::string> args) {
    args.insert(args.begin(), OTP_OTPCTL_BIN);
    auto process = test::Subprocess::start(args, {{"OTP_PG_URL", pg_url_}}, log_path_);
    OTP_CHECK(process.has_value());
    std::vector<std::string> lines;
    while (auto line = process->read_line(10s)) lines.push_back(*line);
    test::eventually(
        5s, [&] { return !process->running(); }, 10ms);
    return std::pair{process->exit_status().value_or(-1), lines};
  };
  auto [created_status, created] =
      run({"key", "create", "--tenant", tenant_a_, "--scopes", "send,read"});
  ASSERT_EQ(created_status, 0);
  std::string id;
  std::string secret;
  for (const auto& line : created) {
    if (line.starts_with("key_id=")) id = line.substr(7);
    if (line.starts_with("secret=")) secret = line.substr(7);
  }
  ASSERT_TRUE(id.starts_with("ak_") && secret.starts_with("sk_"));

  auto [list_status, listed] = run({"key", "list", "--tenant", tenant_a_});
  ASSERT_EQ(list_status, 0);
  ASSERT_EQ(listed.size(), 1U);
  EXPECT_TRUE(listed[0].starts_with(id + " scopes=send,read")) << listed[0];
  EXPECT_EQ(listed[0].find(secret), std::string::npos);
  EXPECT_EQ(listed[0].find("hmac"), std::string::npos);

  // The stored row holds a hash that is not the secret.
  auto row = db_->exec("SELECT secret_hash FROM api_keys WHERE id = $1", {id});
  ASSERT_TRUE(row.has_value() && row->size() == 1U);
  EXPECT_EQ((*row)[0][0]->find(secret), std::string::npos);

  EXPECT_EQ(run({"key", "create", "--tenant", "no-such-tenant-" + suffix_}).first, 1);
  EXPECT_EQ(run({"key", "create", "--tenant", tenant_a_, "--scopes", "admin"}).first, 2);
  EXPECT_EQ(run({"tenant", "update", "--id", tenant_a_, "--code-length", "11"}).first, 2);
  auto [show_status, shown] = run({"tenant", "show", "--id", tenant_a_});
  ASSERT_EQ(show_status, 0);
  std::string joined;
  for (const auto& line : shown) joined += line;
  const auto tenant = json::parse(joined, nullptr, false);
  EXPECT_EQ(tenant["id"], tenant_a_);
  EXPECT_EQ(tenant["code_length"], 6);
  EXPECT_EQ(tenant["active_api_keys"], 1);
  EXPECT_EQ(run({"key", "revoke", "--id", id}).first, 0);
  EXPECT_EQ(run({"key", "revoke", "--id", "ak_000000000000000000000000"}).first, 1);
}

}  // namespace
}  // namespace otp::intake
