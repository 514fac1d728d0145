// The primary API's verification routes (resend, cancel, status), Idempotency-Key, CORS and
// metrics, through the router with a fake publisher: no network.

#include "common/messages/messages.h"
#include "common/messages/topics.h"
#include "services/intake/api_router.h"
#include "services/intake/cors.h"
#include "services/intake/handlers/cancel_handler.h"
#include "services/intake/handlers/reply_mapping.h"
#include "services/intake/handlers/resend_handler.h"
#include "services/intake/handlers/status_handler.h"
#include "services/intake/idempotency.h"
#include "services/intake/metrics.h"
#include "tests/support/fake_clock.h"
#include "tests/support/seeded_rng.h"
#include "tests/unit/services/intake/intake_fakes.h"

#include <gtest/gtest.h>

namespace otp::intake {
namespace {

using messages::Outcome;
using messages::RequestKind;
using nlohmann::json;
using testing::FakeRequestPublisher;
using testing::ResponseRecorder;

constexpr char kVid[] = "otp_0123456789abcdef0123456789abcdef";

HttpRequest request(std::string method, std::string path, std::string body = "",
                    std::string query = "") {
  HttpRequest out;
  out.method = std::move(method);
  out.path = std::move(path);
  out.query = std::move(query);
  out.headers = {{"X-API-Key", "key-1"}, {"X-API-Secret", "s3cret"}};
  out.body = std::move(body);
  return out;
}

std::string action_body(const std::string& vid = kVid) {
  return json({{"appid", "acme"}, {"verification_id", vid}}).dump();
}

class ApiOperationsTest : public ::testing::Test {
 protected:
  ApiOperationsTest() { add_verification_routes(router_, resend_, cancel_, status_); }

  HttpResponse call_now(const HttpRequest& http) {
    ResponseRecorder responses;
    router_.handle(http, responses.callback());
    EXPECT_EQ(responses.count(), 1U);
    return responses.only();
  }

  messages::SendRequested published(std::size_t index) {
    auto message = messages::decode_send_requested(publisher_.published().at(index).record.value);
    EXPECT_TRUE(message.has_value());
    return message.value_or(messages::SendRequested{});
  }

  FakeRequestPublisher publisher_;
  test::SeededRng rng_;
  otp::testing::FakeClock clock_;
  messages::Topics topics_ = messages::Topics::with_prefix("t.");
  DevKeyAuthenticator authenticator_{"acme", "key-1", config::Secret("s3cret")};
  VerificationActions actions_{publisher_, rng_, clock_, topics_};
  ResendHandler resend_{actions_};
  CancelHandler cancel_{actions_};
  StatusHandler status_{actions_};
  ApiRouter router_{authenticator_, 16 * 1024};
};

TEST_F(ApiOperationsTest, ResendPublishesAnActionKeyedByTenantAndId) {
  ResponseRecorder responses;
  router_.handle(request("POST", "/otp/resend", action_body()), responses.callback());
  ASSERT_EQ(publisher_.published().size(), 1U);
  EXPECT_EQ(publisher_.published()[0].record.topic, "t.send-requests");
  EXPECT_EQ(publisher_.published()[0].record.key, std::string("acme:") + kVid);
  const auto message = published(0);
  EXPECT_EQ(message.action, messages::SendAction::kResend);
  EXPECT_EQ(message.verification_id, kVid);
  EXPECT_EQ(message.tenant, "acme");
  EXPECT_TRUE(message.recipient.empty());

  auto reply = testing::make_reply(RequestKind::kResend, Outcome::kPending);
  reply.attempts_remaining = 3;
  reply.channel = messages::Channel::kSms;
  reply.code_length = 6;
  reply.expires_at = from_unix_ms(1'800'000'000'000);
  reply.rate_limit_limit = 3;
  reply.rate_limit_remaining = 1;
  reply.rate_limit_reset_seconds = 60;
  publisher_.answer(0, reply);
  const auto response = responses.only();
  EXPECT_EQ(response.status, 200);
  const auto body = json::parse(response.body);
  EXPECT_EQ(body["verification_id"], kVid);
  EXPECT_EQ(body["status"], "pending");
  EXPECT_EQ(body["channel"], "sms");
  EXPECT_EQ(body["attempts_remaining"], 3);
  EXPECT_EQ(body["code_length"], 6);
  EXPECT_EQ(body["expires_at"], "2027-01-15T08:00:00.000Z");
  EXPECT_EQ(response.header("RateLimit-Remaining"), "1");
}

TEST_F(ApiOperationsTest, ResendTimeoutIs202AndUnpublishedIs503) {
  ResponseRecorder timed_out;
  ResponseRecorder refused;
  router_.handle(request("POST", "/otp/resend", action_body()), timed_out.callback());
  router_.handle(request("POST", "/otp/resend", action_body()), refused.callback());
  publisher_.answer(0, fail(Errc::kTimeout, "no reply"));
  publisher_.answer(1, fail(Errc::kUnavailable, "not published"));
  EXPECT_EQ(timed_out.only().status, 202);
  EXPECT_EQ(timed_out.only_body()["verification_id"], kVid);
  EXPECT_EQ(refused.only().status, 503);
  EXPECT_EQ(refused.only().header("Retry-After"), "1");
}

TEST_F(ApiOperationsTest, ResendWithPreferRespondAsyncAnswersFromTheAck) {
  auto accepted = request("POST", "/otp/resend", action_body());
  accepted.headers.emplace_back("Prefer", "respond-async");
  auto refused = accepted;
  ResponseRecorder accepted_responses;
  ResponseRecorder refused_responses;
  router_.handle(accepted, accepted_responses.callback());
  router_.handle(refused, refused_responses.callback());

  EXPECT_TRUE(publisher_.published().empty());
  ASSERT_EQ(publisher_.published_only().size(), 2U);
  auto message = messages::decode_send_requested(publisher_.published_only()[0].record.value);
  ASSERT_TRUE(message.has_value());
  EXPECT_EQ(message->action, messages::SendAction::kResend);
  EXPECT_EQ(publisher_.published_only()[0].record.key, std::string("acme:") + kVid);
  EXPECT_EQ(accepted_responses.count(), 0U);

  publisher_.acknowledge(0, {});
  publisher_.acknowledge(1, fail(Errc::kUnavailable, "not published"));

  EXPECT_EQ(accepted_responses.only().status, 202);
  EXPECT_EQ(accepted_responses.only().header("Preference-Applied"), "respond-async");
  EXPECT_EQ(accepted_responses.only_body(),
            json({{"success", true}, {"verification_id", kVid}, {"status", "pending"}}));
  EXPECT_EQ(refused_responses.only().status, 503);
  EXPECT_FALSE(refused_responses.only().header("Preference-Applied").has_value());
}

TEST_F(ApiOperationsTest, ResendIdempotencyKeyFixesTheRequestId) {
  auto first = request("POST", "/otp/resend", action_body());
  first.headers.emplace_back("Idempotency-Key", "retry-1");
  ResponseRecorder responses;
  router_.handle(first, responses.callback());
  router_.handle(first, responses.callback());
  router_.handle(request("POST", "/otp/resend", action_body()), responses.callback());
  ASSERT_EQ(publisher_.published().size(), 3U);
  EXPECT_EQ(published(0).request_id, published(1).request_id);
  EXPECT_NE(published(0).request_id, published(2).request_id);
}

TEST_F(ApiOperationsTest, MalformedIdempotencyKeyIs400) {
  for (const std::string& key :
       {std::string(""), std::string(129, 'k'), std::string("a b"), std::string("caf\xc3\xa9")}) {
    auto http = request("POST", "/otp/resend", action_body());
    http.headers.emplace_back("Idempotency-Key", key);
    const auto response = call_now(http);
    EXPECT_EQ(response.status, 400) << key;
    EXPECT_EQ(json::parse(response.body)["error"]["code"], "invalid_request");
  }
  EXPECT_TRUE(publisher_.published().empty());
}

TEST_F(ApiOperationsTest, ActionBodiesAreValidated) {
  EXPECT_EQ(call_now(request("POST", "/otp/cancel", action_body("otp_123"))).status, 400);
  EXPECT_EQ(call_now(request("POST", "/otp/cancel",
                             json({{"appid", "acme"}, {"verification_id", 7}}).dump()))
                .status,
            400);
  EXPECT_EQ(call_now(request("POST", "/otp/resend",
                             json({{"appid", "globex"}, {"verification_id", kVid}}).dump()))
                .status,
            403);
  EXPECT_EQ(call_now(request("POST", "/otp/cancel", "[1]")).status, 400);
  EXPECT_TRUE(publisher_.published().empty());
}

TEST_F(ApiOperationsTest, CancelAnswers) {
  std::vector<ResponseRecorder> responses(5);
  for (auto& recorder : responses) {
    router_.handle(request("POST", "/otp/cancel", action_body()), recorder.callback());
  }
  EXPECT_EQ(published(0).action, messages::SendAction::kCancel);
  publisher_.answer(0, testing::make_reply(RequestKind::kCancel, Outcome::kOk));
  auto legacy = testing::make_reply(RequestKind::kCancel, Outcome::kCanceled);
  legacy.status = messages::Status::kCanceled;
  publisher_.answer(1, legacy);
  auto again = legacy;
  again.message = "the verification was not pending";
  publisher_.answer(2, again);
  publisher_.answer(3, testing::make_reply(RequestKind::kCancel, Outcome::kNotFound));
  publisher_.answer(4, fail(Errc::kTimeout, "no reply"));

  EXPECT_EQ(responses[0].only().status, 200);
  EXPECT_EQ(responses[0].only_body()["status"], "canceled");
  EXPECT_EQ(responses[1].only().status, 200);
  EXPECT_EQ(responses[2].only().status, 409);
  EXPECT_EQ(responses[3].only().status, 404);
  EXPECT_EQ(responses[3].only_body()["error"]["code"], "not_found");
  EXPECT_EQ(responses[4].only().status, 202);
}

TEST_F(ApiOperationsTest, StatusReadsTheQueryAndAnswersTheState) {
  ResponseRecorder found;
  ResponseRecorder missing;
  ResponseRecorder silent;
  router_.handle(request("GET", "/otp/status", "", std::string("verification_id=") + kVid),
                 found.callback());
  router_.handle(request("GET", "/otp/status", "", std::string("x=1&verification_id=") + kVid),
                 missing.callback());
  router_.handle(request("GET", "/otp/status", "", std::string("verification_id=") + kVid),
                 silent.callback());
  ASSERT_EQ(publisher_.published().size(), 3U);
  EXPECT_EQ(published(0).action, messages::SendAction::kStatus);

  auto reply = testing::make_reply(RequestKind::kStatus, Outcome::kOk);
  reply.status = messages::Status::kApproved;
  reply.channel = messages::Channel::kEmail;
  reply.attempts_remaining = 4;
  publisher_.answer(0, reply);
  publisher_.answer(1, testing::make_reply(RequestKind::kStatus, Outcome::kNotFound));
  publisher_.answer(2, fail(Errc::kTimeout, "no reply"));

  EXPECT_EQ(found.only().status, 200);
  EXPECT_EQ(found.only_body()["status"], "approved");
  EXPECT_EQ(found.only_body()["channel"], "email");
  EXPECT_EQ(found.only_body()["attempts_remaining"], 4);
  EXPECT_EQ(missing.only().status, 404);
  EXPECT_EQ(silent.only().status, 503);
}

TEST_F(ApiOperationsTest, StatusRejectsBadQueriesAndWrongMethods) {
  EXPECT_EQ(call_now(request("GET", "/otp/status")).status, 400);
  EXPECT_EQ(call_now(request("GET", "/otp/status", "", "verification_id=otp_zz")).status, 400);
  EXPECT_EQ(call_now(request("GET", "/otp/status", "",
                             std::string("verification_id=") + kVid + "&verification_id=" + kVid))
                .status,
            400);
  EXPECT_EQ(call_now(request("POST", "/otp/status", action_body())).status, 405);
  EXPECT_TRUE(publisher_.published().empty());
}

TEST_F(ApiOperationsTest, AReplyOfAnotherKindIsNeverAnswered) {
  ResponseRecorder responses;
  router_.handle(request("GET", "/otp/status", "", std::string("verification_id=") + kVid),
                 responses.callback());
  publisher_.answer(0, testing::make_reply(RequestKind::kStatus, Outcome::kOk, "globex"));
  EXPECT_EQ(responses.only().status, 500);
}

TEST(Idempotency, HeaderRules) {
  HttpRequest http;
  EXPECT_EQ(idempotency_key(http).value(), std::nullopt);
  http.headers = {{"idempotency-key", "abc-123_X:y"}};
  EXPECT_EQ(idempotency_key(http).value(), "abc-123_X:y");
  http.headers = {{"Idempotency-Key", std::string(128, 'k')}};
  EXPECT_TRUE(idempotency_key(http).has_value());
  http.headers = {{"Idempotency-Key", "tab\there"}};
  EXPECT_FALSE(idempotency_key(http).has_value());
}

TEST(Idempotency, DerivedIdsAreStableAndTenantScoped) {
  const auto a = send_ids_for_key("acme", "k1");
  EXPECT_EQ(a.request_id, send_ids_for_key("acme", "k1").request_id);
  EXPECT_EQ(a.verification_id, send_ids_for_key("acme", "k1").verification_id);
  EXPECT_TRUE(is_verification_id(a.verification_id));
  EXPECT_NE(a.verification_id, send_ids_for_key("acme2", "k1").verification_id);
  EXPECT_NE(a.request_id, send_ids_for_key("acme", "k2").request_id);
  // The separator keeps (tenant, key) pairs apart.
  EXPECT_NE(send_ids_for_key("ac", "me:k").request_id, send_ids_for_key("acme", ":k").request_id);
  EXPECT_NE(action_request_id_for_key("acme", "resend", kVid, "k1"),
            action_request_id_for_key("acme", "cancel", kVid, "k1"));
}

class CorsTest : public ::testing::Test {
 protected:
  HttpResponse call(const HttpRequest& http) {
    ResponseRecorder responses;
    cors_.handle(http, responses.callback(), [this](const HttpRequest&, ResponseCallback respond) {
      ++passed_;
      respond(json_response(404, {{"success", false}}));
    });
    return responses.only();
  }

  static HttpRequest from(std::string origin, std::string method = "GET") {
    HttpRequest http;
    http.method = std::move(method);
    http.path = "/otp/send";
    http.headers = {{"Origin", std::move(origin)}};
    return http;
  }

  Cors cors_{{"https://app.example.com", "http://localhost:3000"}};
  int passed_ = 0;
};

TEST_F(CorsTest, PreflightFromAnAllowedOriginIs204WithAllowHeaders) {
  auto http = from("https://app.example.com", "OPTIONS");
  http.headers.emplace_back("Access-Control-Request-Method", "POST");
  const auto response = call(http);
  EXPECT_EQ(response.status, 204);
  EXPECT_EQ(response.header("Access-Control-Allow-Origin"), "https://app.example.com");
  EXPECT_TRUE(response.header("Access-Control-Allow-Methods")->find("POST") != std::string::npos);
  EXPECT_TRUE(response.header("Access-Control-Allow-Headers")->find("X-API-Key") !=
              std::string::npos);
  EXPECT_EQ(passed_, 0);
}

TEST_F(CorsTest, OtherOriginsGetNoCorsHeaders) {
  for (const char* origin : {"https://evil.example.com", "https://app.example.com.evil.com",
                             "https://APP.example.com", "null"}) {
    auto http = from(origin, "OPTIONS");
    http.headers.emplace_back("Access-Control-Request-Method", "POST");
    const auto response = call(http);
    EXPECT_EQ(response.status, 404) << origin;
    EXPECT_FALSE(response.header("Access-Control-Allow-Origin").has_value()) << origin;
  }
  EXPECT_EQ(passed_, 4);
}

TEST_F(CorsTest, SimpleRequestsFromAllowedOriginsGetAllowOrigin) {
  const auto response = call(from("http://localhost:3000"));
  EXPECT_EQ(passed_, 1);
  EXPECT_EQ(response.header("Access-Control-Allow-Origin"), "http://localhost:3000");
  EXPECT_TRUE(response.header("Access-Control-Expose-Headers")->find("RateLimit-Remaining") !=
              std::string::npos);
  HttpRequest no_origin;
  no_origin.method = "GET";
  EXPECT_FALSE(call(no_origin).header("Vary").has_value());
}

TEST(HttpMetrics, RendersCountersHistogramsAndInFlight) {
  HttpMetrics metrics;
  metrics.observe("/otp/send", "POST", 200, std::chrono::milliseconds(3));
  metrics.observe("/otp/send", "POST", 200, std::chrono::milliseconds(30));
  metrics.observe("/otp/send", "POST", 503, std::chrono::seconds(10));
  metrics.request_started();
  const auto text = metrics.render();
  EXPECT_NE(text.find("otp_http_requests_in_flight 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(otp_http_requests_total{route="/otp/send",method="POST",status="200"} 2)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(otp_http_requests_total{route="/otp/send",method="POST",status="503"} 1)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(_bucket{route="/otp/send",method="POST",le="0.005"} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(_bucket{route="/otp/send",method="POST",le="0.05"} 2)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(_bucket{route="/otp/send",method="POST",le="+Inf"} 3)"),
            std::string::npos);
  EXPECT_NE(
      text.find(R"(otp_http_request_duration_seconds_count{route="/otp/send",method="POST"} 3)"),
      std::string::npos);
  metrics.request_finished();
  EXPECT_NE(metrics.render().find("otp_http_requests_in_flight 0\n"), std::string::npos);
}

TEST(HttpMetrics, MetricsRouteServesTheRegistryAndObservesEveryResponse) {
  DevKeyAuthenticator authenticator{"acme", "key-1", config::Secret("s3cret")};
  ApiRouter router(authenticator, 1024);
  HttpMetrics metrics;
  add_metrics_route(router, metrics);
  HttpRequest unknown;
  unknown.method = "GET";
  unknown.path = "/nope";
  ResponseRecorder ignored;
  router.handle(unknown, ignored.callback());
  HttpRequest scrape;
  scrape.method = "GET";
  scrape.path = "/metrics";
  ResponseRecorder responses;
  router.handle(scrape, responses.callback());
  EXPECT_EQ(responses.only().status, 200);
  EXPECT_EQ(responses.only().header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(responses.only().body.find(
                R"(otp_http_requests_total{route="unknown",method="GET",status="404"} 1)"),
            std::string::npos);
}

}  // namespace
}  // namespace otp::intake
