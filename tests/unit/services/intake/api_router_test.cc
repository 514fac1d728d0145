#include "services/intake/api_router.h"

#include "common/crypto/key_ring.h"
#include "common/crypto/sealer.h"
#include "common/error/check.h"
#include "common/messages/topics.h"
#include "services/intake/handlers/send_handler.h"
#include "services/intake/handlers/verify_handler.h"
#include "tests/support/fake_clock.h"
#include "tests/support/seeded_rng.h"
#include "tests/unit/services/intake/intake_fakes.h"

#include <gtest/gtest.h>

namespace otp::intake {
namespace {

using nlohmann::json;
using testing::FakeReadiness;
using testing::FakeRequestPublisher;
using testing::ResponseRecorder;

constexpr char kKeys[] = "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
constexpr std::size_t kMaxBody = 16 * 1024;

crypto::KeyRing test_keys() {
  auto keys = crypto::KeyRing::parse(kKeys);
  OTP_CHECK(keys.has_value());
  return *keys;
}

/// An authenticator whose key store is down.
class UnavailableAuthenticator final : public Authenticator {
 public:
  [[nodiscard]] Result<Tenant> authenticate(const Credentials& /*credentials*/) const override {
    return fail(Errc::kUnavailable, "key store down");
  }
};

HttpRequest post(std::string path, std::string body) {
  HttpRequest request;
  request.method = "POST";
  request.path = std::move(path);
  request.headers = {{"x-api-key", "key-1"}, {"X-Api-Secret", "s3cret"}};
  request.body = std::move(body);
  return request;
}

std::string send_body() {
  return json({{"appid", "acme"}, {"recipient", "+14155552671"}, {"channel", "sms"}}).dump();
}

class ApiRouterTest : public ::testing::Test {
 protected:
  HttpResponse call(const HttpRequest& request) {
    ResponseRecorder responses;
    router_.handle(request, responses.callback());
    EXPECT_EQ(responses.count(), 1U);
    return responses.only();
  }

  static std::string error_code(const HttpResponse& response) {
    return json::parse(response.body)["error"]["code"];
  }

  FakeRequestPublisher publisher_;
  FakeReadiness readiness_;
  test::SeededRng rng_;
  otp::testing::FakeClock clock_;
  crypto::KeyRing keys_ = test_keys();
  crypto::Sealer sealer_{keys_, rng_};
  messages::Topics topics_ = messages::Topics::with_prefix("t.");
  DevKeyAuthenticator authenticator_{"acme", "key-1", config::Secret("s3cret")};
  SendHandler send_{publisher_, rng_, clock_, topics_};
  VerifyHandler verify_{publisher_, sealer_, rng_, clock_, topics_, std::chrono::seconds(3)};
  ApiRouter router_ = make_router(authenticator_);

  ApiRouter make_router(const Authenticator& authenticator) {
    ApiRouter router(authenticator, kMaxBody);
    add_core_routes(router, send_, verify_, readiness_);
    return router;
  }
};

TEST_F(ApiRouterTest, ValidSendIsAuthenticatedAndPublished) {
  ResponseRecorder responses;
  router_.handle(post("/otp/send", send_body()), responses.callback());
  EXPECT_EQ(responses.count(), 0U);
  ASSERT_EQ(publisher_.published().size(), 1U);
  EXPECT_EQ(publisher_.published()[0].record.key, "acme:+14155552671");
}

TEST_F(ApiRouterTest, PreferRespondAsyncSendIsPublishedWithoutAReplyWait) {
  auto request = post("/otp/send", send_body());
  request.headers.emplace_back("prefer", "wait=5, Respond-Async");
  ResponseRecorder responses;
  router_.handle(request, responses.callback());

  EXPECT_TRUE(publisher_.published().empty());
  ASSERT_EQ(publisher_.published_only().size(), 1U);
  EXPECT_EQ(responses.count(), 0U);
  publisher_.acknowledge(0, {});
  EXPECT_EQ(responses.only().status, 202);
  EXPECT_EQ(responses.only().header("Preference-Applied"), "respond-async");
}

TEST_F(ApiRouterTest, OtherPreferencesKeepTheSyncSend) {
  auto request = post("/otp/send", send_body());
  request.headers.emplace_back("Prefer", "return=minimal, respond-asynchronously");
  ResponseRecorder responses;
  router_.handle(request, responses.callback());

  EXPECT_TRUE(publisher_.published_only().empty());
  ASSERT_EQ(publisher_.published().size(), 1U);
}

TEST_F(ApiRouterTest, MissingCredentialsAre401) {
  for (const char* missing : {"x-api-key", "X-Api-Secret"}) {
    auto request = post("/otp/send", send_body());
    std::erase_if(request.headers, [&](const auto& header) { return header.first == missing; });
    const auto response = call(request);
    EXPECT_EQ(response.status, 401) << missing;
    EXPECT_EQ(error_code(response), "unauthorized");
    // RFC 9110: a 401 names the schemes that would be accepted.
    EXPECT_EQ(response.header("WWW-Authenticate").value_or(""),
              R"(Basic realm="otp", Bearer realm="otp")");
  }
  auto empty = post("/otp/send", send_body());
  empty.headers = {{"X-API-Key", "key-1"}, {"X-API-Secret", ""}};
  EXPECT_EQ(call(empty).status, 401);
  EXPECT_TRUE(publisher_.published().empty());
}

TEST_F(ApiRouterTest, WrongKeyOrSecretIs401) {
  auto wrong_key = post("/otp/verify", "{}");
  wrong_key.headers = {{"X-API-Key", "key-2"}, {"X-API-Secret", "s3cret"}};
  auto wrong_secret = post("/otp/send", send_body());
  wrong_secret.headers = {{"X-API-Key", "key-1"}, {"X-API-Secret", "s3cret!"}};
  auto prefix_secret = post("/otp/send", send_body());
  prefix_secret.headers = {{"X-API-Key", "key-1"}, {"X-API-Secret", "s3cre"}};
  for (const auto& request : {wrong_key, wrong_secret, prefix_secret}) {
    const auto response = call(request);
    EXPECT_EQ(response.status, 401);
    EXPECT_EQ(error_code(response), "unauthorized");
    // The same answer whichever half was wrong.
    EXPECT_EQ(json::parse(response.body)["error"]["message"], "invalid API key or secret");
  }
  EXPECT_TRUE(publisher_.published().empty());
}

TEST_F(ApiRouterTest, KeyStoreDownIs503) {
  UnavailableAuthenticator down;
  ApiRouter router = make_router(down);
  ResponseRecorder responses;
  router.handle(post("/otp/send", send_body()), responses.callback());
  EXPECT_EQ(responses.only().status, 503);
  EXPECT_EQ(responses.only().header("Retry-After"), "1");
}

TEST_F(ApiRouterTest, BodiesThatAreNotAJsonObjectAre400) {
  for (const char* body : {"", "not json", "[1,2]", "\"text\"", "42", "{\"appid\":", "{} {}"}) {
    const auto response = call(post("/otp/send", body));
    EXPECT_EQ(response.status, 400) << body;
    EXPECT_EQ(error_code(response), "invalid_request") << body;
  }
  EXPECT_TRUE(publisher_.published().empty());
}

TEST_F(ApiRouterTest, InvalidUtf8Is400) {
  const auto response = call(post("/otp/verify", std::string("{\"appid\":\"acme\xff\"}", 17)));
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(json::parse(response.body)["error"]["message"], "body is not valid UTF-8");
}

TEST_F(ApiRouterTest, AppIdOfAnotherTenantIs403) {
  const auto response = call(
      post("/otp/send",
           json({{"appid", "globex"}, {"recipient", "+14155552671"}, {"channel", "sms"}}).dump()));
  EXPECT_EQ(response.status, 403);
  EXPECT_EQ(error_code(response), "forbidden");
}

TEST_F(ApiRouterTest, UnknownRouteIsJson404) {
  auto request = post("/otp/sned", send_body());
  const auto response = call(request);
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  EXPECT_EQ(error_code(response), "not_found");
}

TEST_F(ApiRouterTest, WrongMethodIs405WithAllow) {
  auto request = post("/otp/send", "");
  request.method = "GET";
  auto response = call(request);
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.header("Allow"), "POST");
  EXPECT_EQ(response.header("Content-Type"), "application/json");

  request.path = "/healthz";
  request.method = "POST";
  response = call(request);
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.header("Allow"), "GET");
}

TEST_F(ApiRouterTest, DeclaredBodyOverTheLimitIs413AndClosesTheConnection) {
  auto request = post("/otp/send", "");  // the server did not read the body
  request.headers.emplace_back("Content-Length", std::to_string(10 * 1024 * 1024));
  const auto response = call(request);
  EXPECT_EQ(response.status, 413);
  EXPECT_TRUE(response.close_connection);
  EXPECT_EQ(error_code(response), "invalid_request");

  auto unknown_route = post("/nowhere", "");
  unknown_route.headers.emplace_back("Content-Length", "16385");
  EXPECT_EQ(call(unknown_route).status, 413);

  auto huge = post("/otp/send", "");
  huge.headers.emplace_back("Content-Length", "99999999999999999999999");
  EXPECT_EQ(call(huge).status, 413);
}

TEST_F(ApiRouterTest, ActualBodyOverTheLimitIs413) {
  const auto response = call(post("/otp/send", std::string(kMaxBody + 1, ' ')));
  EXPECT_EQ(response.status, 413);
  auto at_limit = post("/otp/send", std::string(kMaxBody, ' '));
  at_limit.headers.emplace_back("Content-Length", std::to_string(kMaxBody));
  EXPECT_EQ(call(at_limit).status, 400);  // read, then found not to be JSON
}

TEST_F(ApiRouterTest, HealthzNeedsNoCredentials) {
  HttpRequest request;
  request.method = "GET";
  request.path = "/healthz";
  const auto response = call(request);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, R"({"status":"ok"})");
}

TEST_F(ApiRouterTest, ReadyzFollowsReadiness) {
  HttpRequest request;
  request.method = "GET";
  request.path = "/readyz";
  EXPECT_EQ(call(request).status, 200);
  readiness_.reason = "reply consumer not positioned yet";
  const auto response = call(request);
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(json::parse(response.body),
            json({{"status", "unavailable"}, {"reason", "reply consumer not positioned yet"}}));
}

/// Accepts any credentials as tenant "acme" with the given scopes.
class ScopedAuthenticator final : public Authenticator {
 public:
  explicit ScopedAuthenticator(unsigned scopes) : scopes_(scopes) {}
  [[nodiscard]] Result<Tenant> authenticate(const Credentials& /*credentials*/) const override {
    Tenant tenant;
    tenant.id = "acme";
    tenant.key_id = "k";
    tenant.scopes = scopes_;
    return tenant;
  }

 private:
  unsigned scopes_;
};

TEST_F(ApiRouterTest, KeyWithoutTheRouteScopeIs403) {
  const ScopedAuthenticator verify_only(static_cast<unsigned>(Scope::kVerify));
  ApiRouter router = make_router(verify_only);
  ResponseRecorder responses;
  router.handle(post("/otp/send", send_body()), responses.callback());
  ASSERT_EQ(responses.count(), 1U);
  EXPECT_EQ(responses.only().status, 403);
  EXPECT_EQ(error_code(responses.only()), "forbidden");
  EXPECT_TRUE(publisher_.published().empty());
}

TEST_F(ApiRouterTest, AddedRoutesGetTenantBodyAndObserver) {
  std::vector<std::pair<std::string, int>> observed;
  router_.set_observer([&](std::string_view route, std::string_view /*method*/, int status,
                           std::chrono::nanoseconds latency) {
    EXPECT_GE(latency.count(), 0);
    observed.emplace_back(std::string(route), status);
  });
  std::string seen_tenant;
  router_.add(tenant_route("POST", "/x", Scope::kRead, true),
              [&](const RouteRequest& request, ResponseCallback respond) {
                seen_tenant = request.tenant->id;
                respond(json_response(200, {{"n", (*request.body)["n"]}}));
              });
  router_.add(public_route("GET", "/x"), [](const RouteRequest& request, ResponseCallback respond) {
    EXPECT_EQ(request.tenant, nullptr);
    EXPECT_EQ(request.body, nullptr);
    respond(json_response(200, {{"q", request.http.query}}));
  });
  EXPECT_EQ(call(post("/x", R"({"n":1})")).body, R"({"n":1})");
  EXPECT_EQ(seen_tenant, "acme");
  HttpRequest get;
  get.method = "GET";
  get.path = "/x";
  get.query = "a=1";
  EXPECT_EQ(call(get).body, R"({"q":"a=1"})");
  get.method = "DELETE";
  const auto refused = call(get);
  EXPECT_EQ(refused.status, 405);
  EXPECT_EQ(refused.header("Allow").value_or(""), "POST, GET");
  const std::vector<std::pair<std::string, int>> expected{{"/x", 200}, {"/x", 200}, {"/x", 405}};
  EXPECT_EQ(observed, expected);
}

}  // namespace
}  // namespace otp::intake
