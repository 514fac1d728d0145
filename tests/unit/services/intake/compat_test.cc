// The seed-000/002 compatibility routes over fakes: every row of ../shared/COMPAT.md that the
// intake decides by itself, and the mapping of every generator/delivery outcome.
#include "common/crypto/key_ring.h"
#include "common/error/check.h"
#include "common/messages/messages.h"
#include "services/intake/compat/compat_config.h"
#include "services/intake/compat/compat_routes.h"
#include "services/intake/compat/seed000_handler.h"
#include "services/intake/compat/seed002_handler.h"
#include "services/intake/webhooks/webhook_config.h"
#include "tests/support/fake_clock.h"
#include "tests/support/seeded_rng.h"
#include "tests/unit/services/intake/intake_fakes.h"

#include <gtest/gtest.h>

#include <map>

namespace otp::intake::compat {
namespace {

using messages::Outcome;
using messages::RequestKind;
using nlohmann::json;
using testing::FakeRequestPublisher;
using testing::make_reply;
using testing::ResponseRecorder;

constexpr char kKeys[] = "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

crypto::KeyRing test_keys() {
  auto keys = crypto::KeyRing::parse(kKeys);
  OTP_CHECK(keys.has_value());
  return *keys;
}

messages::Reply reply_with(Outcome outcome, std::optional<int> attempts = std::nullopt,
                           std::optional<int> retry_after = std::nullopt) {
  auto reply = make_reply(RequestKind::kVerify, outcome, "compat");
  reply.attempts_remaining = attempts;
  reply.retry_after_seconds = retry_after;
  return reply;
}

json body_of(const HttpResponse& response) { return json::parse(response.body); }

// --- seed 002 -----------------------------------------------------------------------------

TEST(Seed002Mapping, SendAnswers) {
  auto ok = seed002_send_response(reply_with(Outcome::kPending, 5));
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(body_of(ok), json({{"code", 200}, {"message", "OTP send successfully."}, {"data", 5}}));
  auto locked = seed002_send_response(reply_with(Outcome::kRecipientLocked, std::nullopt, 1741));
  EXPECT_EQ(locked.status, 403);
  EXPECT_EQ(body_of(locked),
            json({{"code", 403},
                  {"message", "User locked out due to exceeding maximum attempts."},
                  {"data", {{"lockout_duration", 30}}}}));  // 1741 s -> 29.02 min -> 30
  EXPECT_EQ(body_of(seed002_send_response(
                reply_with(Outcome::kRecipientLocked, {}, 60)))["data"]["lockout_duration"],
            1);
  EXPECT_EQ(body_of(seed002_send_response(
                reply_with(Outcome::kRecipientLocked, {}, 61)))["data"]["lockout_duration"],
            2);
  auto down = seed002_send_response(otp::fail(Errc::kUnavailable, "x"));
  EXPECT_EQ(down.status, 500);
  EXPECT_EQ(body_of(down), json({{"code", 500}, {"message", "Internal server error occurred."}}));
  EXPECT_EQ(seed002_send_response(otp::fail(Errc::kTimeout, "x")).status, 500);
  EXPECT_EQ(seed002_send_response(reply_with(Outcome::kCountryBlocked)).status, 400);
}

TEST(Seed002Mapping, VerifyAnswers) {
  auto ok = seed002_verify_response(reply_with(Outcome::kApproved, 4));
  EXPECT_EQ(
      body_of(ok),
      json({{"code", 200}, {"message", "OTP verified successfully."}, {"data", json::object()}}));
  for (auto outcome : {Outcome::kInvalidCode, Outcome::kExpired, Outcome::kAlreadyVerified,
                       Outcome::kNotFound, Outcome::kCanceled}) {
    auto wrong = seed002_verify_response(reply_with(outcome, 3));
    EXPECT_EQ(wrong.status, 401) << messages::to_string(outcome);
    EXPECT_EQ(body_of(wrong),
              json({{"code", 401}, {"message", "Incorrect OTP/ OTP Expired"}, {"data", 3}}));
  }
  auto exhausted = seed002_verify_response(reply_with(Outcome::kMaxAttemptsReached, 0));
  EXPECT_EQ(exhausted.status, 403);
  EXPECT_EQ(body_of(exhausted)["data"]["lockout_duration"], 30);
  auto locked = seed002_verify_response(reply_with(Outcome::kRecipientLocked, {}, 90));
  EXPECT_EQ(body_of(locked)["data"]["lockout_duration"], 2);
  EXPECT_EQ(seed002_verify_response(otp::fail(Errc::kTimeout, "x")).status, 500);
}

TEST(Seed002Mapping, TrialsAreTheSubjectsFailuresLeftAndTheLastOneLocksOut) {
  auto sent = reply_with(Outcome::kPending, 5);
  sent.failures_remaining = 3;
  EXPECT_EQ(body_of(seed002_send_response(sent))["data"], 3);
  auto wrong = reply_with(Outcome::kInvalidCode, 4);
  wrong.failures_remaining = 2;
  EXPECT_EQ(body_of(seed002_verify_response(wrong))["data"], 2);
  // The failure that started the lock: 403 now, with the lock's length.
  auto last = reply_with(Outcome::kInvalidCode, 3, 1800);
  last.failures_remaining = 0;
  auto locked = seed002_verify_response(last);
  EXPECT_EQ(locked.status, 403);
  EXPECT_EQ(body_of(locked)["data"]["lockout_duration"], 30);
  auto approved = reply_with(Outcome::kApproved, 4);
  approved.failures_remaining = 5;
  EXPECT_EQ(seed002_verify_response(approved).status, 200);
}

class Seed002HandlerTest : public ::testing::Test {
 protected:
  FakeRequestPublisher publisher_;
  test::SeededRng rng_;
  otp::testing::FakeClock clock_;
  crypto::KeyRing keys_ = test_keys();
  crypto::Sealer sealer_{keys_, rng_};
  messages::Topics topics_ = messages::Topics::with_prefix("t.");
  Seed002Handler handler_{
      publisher_, sealer_, rng_, clock_, topics_, "compat", std::chrono::seconds(3)};
};

TEST_F(Seed002HandlerTest, SendPublishesAnSmsForTheCompatTenant) {
  ResponseRecorder responses;
  handler_.send(R"({"phoneNumber":"+14155552671"})", responses.callback());
  ASSERT_EQ(publisher_.published().size(), 1U);
  const auto& record = publisher_.published()[0].record;
  EXPECT_EQ(record.topic, "t.send-requests");
  EXPECT_EQ(record.key, "compat:+14155552671");
  auto message = messages::decode_send_requested(record.value);
  ASSERT_TRUE(message.has_value());
  EXPECT_EQ(message->tenant, "compat");
  EXPECT_EQ(message->channel, messages::Channel::kSms);
  EXPECT_EQ(responses.count(), 0U);
  publisher_.answer(0, reply_with(Outcome::kPending, 5));
  EXPECT_EQ(responses.only_body()["data"], 5);
}

TEST_F(Seed002HandlerTest, EveryMalformedSendIs400WithoutPublishing) {
  for (const char* body :
       {"", "[]", "{", R"({})", R"({"phoneNumber":""})", R"({"phoneNumber":14155552671})",
        R"({"phoneNumber":"14155552671"})", R"({"phoneNumber":"+1 415 555 2671"})",
        R"({"phoneNumber":"+1415"})", R"({"phone":"+14155552671"})"}) {
    ResponseRecorder responses;
    handler_.send(body, responses.callback());
    EXPECT_EQ(responses.only().status, 400) << body;
    EXPECT_EQ(responses.only_body(), json({{"code", 400}, {"message", "Invalid request body"}}))
        << body;
  }
  EXPECT_TRUE(publisher_.published().empty());
}

TEST_F(Seed002HandlerTest, VerifyLocatesByRecipientWithTheCodeSealedToIt) {
  ResponseRecorder responses;
  handler_.verify(R"({"user":{"phoneNumber":"+14155552671"},"code":"123456"})",
                  responses.callback());
  ASSERT_EQ(publisher_.published().size(), 1U);
  const auto& record = publisher_.published()[0].record;
  EXPECT_EQ(record.topic, "t.verify-requests");
  EXPECT_EQ(record.key, "compat:+14155552671");
  auto payload = json::parse(record.value);
  EXPECT_EQ(payload["verification_id"], "");
  EXPECT_EQ(payload["recipient"], "+14155552671");
  EXPECT_EQ(record.value.find("123456"), std::string::npos);  // sealed, never in clear
  auto sealed = crypto::Sealed{.key_id = payload["otp_code_sealed"]["key_id"],
                               .data = payload["otp_code_sealed"]["data"]};
  auto opened = sealer_.unseal(sealed, "+14155552671");
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(*opened, "123456");
  publisher_.answer(0, reply_with(Outcome::kInvalidCode, 4));
  EXPECT_EQ(responses.only().status, 401);
  EXPECT_EQ(responses.only_body()["data"], 4);
}

TEST_F(Seed002HandlerTest, EveryMalformedVerifyIs400WithoutPublishing) {
  for (const char* body :
       {"nope", R"({"code":"123456"})", R"({"user":"+14155552671","code":"123456"})",
        R"({"user":{"phoneNumber":"+14155552671"}})",
        R"({"user":{"phoneNumber":"+14155552671"},"code":123456})",
        R"({"user":{"phoneNumber":"+14155552671"},"code":""})",
        R"({"user":{"phoneNumber":"+14155552671"},"code":"12a456"})",
        R"({"user":{"phoneNumber":"bad"},"code":"123456"})"}) {
    ResponseRecorder responses;
    handler_.verify(body, responses.callback());
    EXPECT_EQ(responses.only().status, 400) << body;
  }
  EXPECT_TRUE(publisher_.published().empty());
}

// --- seed 000 -----------------------------------------------------------------------------

class MapDirectory final : public Directory {
 public:
  void find(const std::string& tenant, const std::string& mobile, DirectoryCallback done) override {
    lookups.push_back(tenant + "/" + mobile);
    if (down) return done(otp::fail(Errc::kUnavailable, "down"));
    auto it = entries.find(mobile);
    if (it == entries.end()) return done(DirectoryResult(std::nullopt));
    done(DirectoryResult(it->second));
  }
  std::map<std::string, DirectoryEntry> entries;
  std::vector<std::string> lookups;
  bool down = false;
};

class ManualDeliveryWaits final : public DeliveryWaits {
 public:
  void expect(const std::string& id, std::chrono::milliseconds timeout,
              ReplyCallback done) override {
    waits[id] = std::move(done);
    last_timeout = timeout;
  }
  void forget(const std::string& id) override { finish(id, otp::fail(Errc::kInternal, "gone")); }
  void finish(const std::string& id, const ReplyResult& result) {
    auto it = waits.find(id);
    if (it == waits.end()) return;
    auto done = std::move(it->second);
    waits.erase(it);
    done(result);
  }
  std::map<std::string, ReplyCallback> waits;
  std::chrono::milliseconds last_timeout{0};
};

class Seed000HandlerTest : public ::testing::Test {
 protected:
  Seed000HandlerTest() {
    directory_.entries["9657329173"] = {.email = "ap8548328@gmail.com", .reveal_contacts = false};
  }

  std::string delivery_id(std::size_t index = 0) {
    const auto& headers = publisher_.published().at(index).record.headers;
    for (const auto& [name, value] : headers) {
      if (name == kHeaderDeliveryCorrelationId) return value;
    }
    return {};
  }

  FakeRequestPublisher publisher_;
  ManualDeliveryWaits waits_;
  MapDirectory directory_;
  test::SeededRng rng_;
  otp::testing::FakeClock clock_;
  crypto::KeyRing keys_ = test_keys();
  crypto::Sealer sealer_{keys_, rng_};
  messages::Topics topics_ = messages::Topics::with_prefix("t.");
  Seed000Handler handler_{publisher_,
                          waits_,
                          directory_,
                          sealer_,
                          rng_,
                          clock_,
                          topics_,
                          {.tenant = "compat",
                           .reply_timeout = std::chrono::seconds(3),
                           .delivery_timeout = std::chrono::seconds(10)}};
};

TEST_F(Seed000HandlerTest, SendWaitsForTheDeliveryOutcomeAndMasksTheEmail) {
  ResponseRecorder responses;
  handler_.send(R"({"mobile":"9657329173"})", responses.callback());
  EXPECT_EQ(directory_.lookups, std::vector<std::string>{"compat/9657329173"});
  ASSERT_EQ(publisher_.published().size(), 1U);
  auto message = messages::decode_send_requested(publisher_.published()[0].record.value);
  ASSERT_TRUE(message.has_value());
  EXPECT_EQ(message->channel, messages::Channel::kEmail);
  EXPECT_EQ(message->recipient, "ap8548328@gmail.com");
  const auto id = delivery_id();
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(waits_.last_timeout, std::chrono::seconds(10));

  publisher_.answer(0, make_reply(RequestKind::kSend, Outcome::kPending, "compat"));
  EXPECT_EQ(responses.count(), 0U);  // issued, not yet delivered
  auto delivered = make_reply(RequestKind::kSend, Outcome::kDelivered, "compat");
  delivered.provider = "resend";
  waits_.finish(id, delivered);
  ASSERT_EQ(responses.count(), 1U);
  EXPECT_EQ(responses.only().status, 200);
  EXPECT_EQ(responses.only_body(), json({{"success", true},
                                         {"email", "a******8@gmail.com"},
                                         {"mobile", "9657329173"},
                                         {"message", "OTP sent"},
                                         {"verification_id", message->verification_id}}));
}

TEST_F(Seed000HandlerTest, RevealedContactsAndTheDeliveryOvertakingTheGenerator) {
  directory_.entries["9657329173"].reveal_contacts = true;
  ResponseRecorder responses;
  handler_.send(R"({"mobile":"9657329173"})", responses.callback());
  waits_.finish(delivery_id(), make_reply(RequestKind::kSend, Outcome::kDelivered, "compat"));
  EXPECT_EQ(responses.only_body()["email"], "ap8548328@gmail.com");
  publisher_.answer(0, make_reply(RequestKind::kSend, Outcome::kPending, "compat"));
  EXPECT_EQ(responses.count(), 1U);
}

TEST_F(Seed000HandlerTest, ProviderFailureIs500WithTheReason) {
  ResponseRecorder responses;
  handler_.send(R"({"mobile":"9657329173"})", responses.callback());
  publisher_.answer(0, make_reply(RequestKind::kSend, Outcome::kPending, "compat"));
  auto failed = make_reply(RequestKind::kSend, Outcome::kDeliveryFailed, "compat");
  failed.message = "resend: 422 invalid from address";
  waits_.finish(delivery_id(), failed);
  EXPECT_EQ(responses.only().status, 500);
  EXPECT_EQ(responses.only_body(),
            json({{"success", false},
                  {"message", "Failed to send email: resend: 422 invalid from address"}}));
}

TEST_F(Seed000HandlerTest, NoDeliveryOutcomeInTimeIs500) {
  ResponseRecorder responses;
  handler_.send(R"({"mobile":"9657329173"})", responses.callback());
  publisher_.answer(0, otp::fail(Errc::kTimeout, "no reply"));
  EXPECT_EQ(responses.count(), 0U);  // the delivery outcome may still come
  waits_.finish(delivery_id(), otp::fail(Errc::kTimeout, "no reply"));
  EXPECT_EQ(responses.only().status, 500);
  EXPECT_EQ(responses.only_body()["message"],
            "Failed to send email: no delivery confirmation in time");
}

TEST_F(Seed000HandlerTest, GeneratorRefusalAnswersAndForgetsTheDeliveryWait) {
  ResponseRecorder limited;
  handler_.send(R"({"mobile":"9657329173"})", limited.callback());
  auto reply = make_reply(RequestKind::kSend, Outcome::kRateLimited, "compat");
  reply.retry_after_seconds = 42;
  publisher_.answer(0, reply);
  EXPECT_EQ(limited.only().status, 429);
  EXPECT_EQ(limited.only().header("Retry-After"), "42");
  EXPECT_TRUE(waits_.waits.empty());

  ResponseRecorder down;
  handler_.send(R"({"mobile":"9657329173"})", down.callback());
  publisher_.answer(1, otp::fail(Errc::kUnavailable, "not published"));
  EXPECT_EQ(down.only().status, 500);
  EXPECT_TRUE(waits_.waits.empty());
}

TEST_F(Seed000HandlerTest, BodyAndDirectoryRows) {
  struct Row {
    const char* body;
    int status;
    const char* message;
  };
  for (const Row& row :
       {Row{"nope", 400, "Invalid JSON body"}, Row{"[1]", 400, "Invalid JSON body"},
        Row{"{}", 400, "Mobile number is required"},
        Row{R"({"mobile":""})", 400, "Mobile number is required"},
        Row{R"({"mobile":9657329173})", 400, "Mobile number is required"},
        Row{R"({"mobile":"0000000000"})", 404, "Mobile number not registered"}}) {
    ResponseRecorder responses;
    handler_.send(row.body, responses.callback());
    EXPECT_EQ(responses.only().status, row.status) << row.body;
    EXPECT_EQ(responses.only_body(), json({{"success", false}, {"message", row.message}}))
        << row.body;
  }
  directory_.down = true;
  ResponseRecorder responses;
  handler_.send(R"({"mobile":"9657329173"})", responses.callback());
  EXPECT_EQ(responses.only().status, 500);
  EXPECT_TRUE(publisher_.published().empty());
}

TEST_F(Seed000HandlerTest, VerifyAnswers) {
  const std::pair<Outcome, int> rows[] = {
      {Outcome::kApproved, 200},        {Outcome::kInvalidCode, 401},
      {Outcome::kExpired, 401},         {Outcome::kNotFound, 401},
      {Outcome::kAlreadyVerified, 401}, {Outcome::kMaxAttemptsReached, 429},
      {Outcome::kRecipientLocked, 429}};
  std::size_t index = 0;
  for (const auto& [outcome, status] : rows) {
    ResponseRecorder responses;
    handler_.verify(R"({"mobile":"9657329173","otp":"123456"})", responses.callback());
    ASSERT_EQ(publisher_.published().size(), index + 1);
    auto payload = json::parse(publisher_.published()[index].record.value);
    EXPECT_EQ(payload["recipient"], "ap8548328@gmail.com");
    publisher_.answer(index++, make_reply(RequestKind::kVerify, outcome, "compat"));
    EXPECT_EQ(responses.only().status, status) << messages::to_string(outcome);
  }
  ResponseRecorder missing;
  handler_.verify(R"({"mobile":"9657329173"})", missing.callback());
  EXPECT_EQ(missing.only().status, 400);
  ResponseRecorder unknown;
  handler_.verify(R"({"mobile":"1","otp":"123456"})", unknown.callback());
  EXPECT_EQ(unknown.only().status, 404);
}

TEST(MaskEmail, KeepsFirstLastAndDomainAndHidesTheLength) {
  EXPECT_EQ(mask_email("ap8548328@gmail.com"), "a******8@gmail.com");
  EXPECT_EQ(mask_email("adi.akolkar12@gmail.com"), "a******2@gmail.com");
  EXPECT_EQ(mask_email("ab@x.io"), "a******@x.io");
  EXPECT_EQ(mask_email("a@x.io"), "a******@x.io");
}

// --- configuration --------------------------------------------------------------------------

config::EnvReader::Lookup env_of(std::map<std::string, std::string> values) {
  return [values = std::move(values)](const std::string& key) -> std::optional<std::string> {
    auto it = values.find(key);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

TEST(CompatConfig, DefaultsAndEveryBadKeyReported) {
  config::EnvReader defaults(env_of({}));
  auto config = read_compat_config(defaults);
  auto hooks = webhooks::read_webhook_config(defaults);
  EXPECT_TRUE(defaults.finish().has_value());
  EXPECT_EQ(config.tenant, "compat");
  EXPECT_FALSE(config.require_auth);
  EXPECT_EQ(config.delivery_timeout, std::chrono::seconds(10));
  EXPECT_TRUE(hooks.twilio_auth_token.empty());

  config::EnvReader bad(env_of({{"OTP_COMPAT_TENANT", "a:b"},
                                {"OTP_COMPAT_DELIVERY_TIMEOUT_MS", "5"},
                                {"OTP_PUBLIC_BASE_URL", "ftp://x"},
                                {"OTP_META_APP_SECRET", "s"}}));
  (void)read_compat_config(bad);
  (void)webhooks::read_webhook_config(bad);
  auto done = bad.finish();
  ASSERT_FALSE(done.has_value());
  for (const char* key : {"OTP_COMPAT_TENANT", "OTP_COMPAT_DELIVERY_TIMEOUT_MS",
                          "OTP_PUBLIC_BASE_URL", "OTP_META_VERIFY_TOKEN"}) {
    EXPECT_NE(done.error().message.find(key), std::string::npos) << key;
  }

  config::EnvReader trailing(env_of(
      {{"OTP_PUBLIC_BASE_URL", "https://otp.example.com/"}, {"OTP_TWILIO_AUTH_TOKEN", "t"}}));
  EXPECT_EQ(webhooks::read_webhook_config(trailing).public_base_url, "https://otp.example.com");
  EXPECT_TRUE(trailing.finish().has_value());
}

// --- routes and authentication -------------------------------------------------------------

class OneKey final : public Authenticator {
 public:
  [[nodiscard]] Result<Tenant> authenticate(const Credentials& credentials) const override {
    if (credentials.api_key == "compat-key") return Tenant{.id = "compat", .key_id = "k"};
    if (credentials.api_key == "other-key") return Tenant{.id = "other", .key_id = "o"};
    return otp::fail(Errc::kInvalidInput, "no");
  }
};

TEST(CompatRoutes, RequireAuthAcceptsOnlyTheCompatTenant) {
  FakeRequestPublisher publisher;
  test::SeededRng rng;
  otp::testing::FakeClock clock;
  auto keys = test_keys();
  crypto::Sealer sealer{keys, rng};
  auto topics = messages::Topics::with_prefix("t.");
  Seed002Handler seed002{publisher, sealer, rng, clock, topics, "compat", std::chrono::seconds(3)};
  ManualDeliveryWaits waits;
  MapDirectory directory;
  Seed000Handler seed000{publisher, waits, directory, sealer,
                         rng,       clock, topics,    {.tenant = "compat"}};
  OneKey authenticator;
  CompatConfig config;
  config.require_auth = true;
  ApiRouter router(authenticator, 16 * 1024);
  add_compat_routes(router, seed002, seed000, authenticator, config);

  const auto call = [&](const std::string& path, std::vector<HttpHeader> headers) {
    ResponseRecorder responses;
    router.handle(HttpRequest{.method = "POST",
                              .path = path,
                              .query = "",
                              .headers = std::move(headers),
                              .body = R"({"phoneNumber":"+14155552671","mobile":"1"})"},
                  responses.callback());
    // 0: not answered yet (published, waiting for the fake generator).
    return responses.count() == 0 ? HttpResponse{.status = 0} : responses.only();
  };
  // RFC 9110: a 401 names the schemes that would be accepted, as the primary API's 401s do.
  constexpr std::string_view kChallenge = R"(Basic realm="otp", Bearer realm="otp")";
  auto anonymous = call("/api/send-otp", {});
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(json::parse(anonymous.body), json({{"code", 401}, {"message", "Unauthorized"}}));
  EXPECT_EQ(anonymous.header("WWW-Authenticate").value_or(""), kChallenge);
  auto unknown = call("/verify-otp", {{"X-API-Key", "unknown-key"}, {"X-API-Secret", "s"}});
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(json::parse(unknown.body), json({{"success", false}, {"message", "Unauthorized"}}));
  EXPECT_EQ(unknown.header("WWW-Authenticate").value_or(""), kChallenge);
  auto other = call("/send-otp", {{"X-API-Key", "other-key"}, {"X-API-Secret", "s"}});
  EXPECT_EQ(other.status, 403);
  EXPECT_EQ(json::parse(other.body), json({{"success", false}, {"message", "Forbidden"}}));
  EXPECT_FALSE(other.header("WWW-Authenticate").has_value()) << "a 403 challenges nobody";
  EXPECT_TRUE(publisher.published().empty());
  call("/api/send-otp", {{"X-API-Key", "compat-key"}, {"X-API-Secret", "s"}});
  EXPECT_EQ(publisher.published().size(), 1U);
}

}  // namespace
}  // namespace otp::intake::compat
