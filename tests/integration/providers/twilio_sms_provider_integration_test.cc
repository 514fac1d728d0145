// TwilioSmsProvider + CurlHttpClient against tests/support/fake_providers/fake_providers.py, a real
// HTTP server speaking Twilio's Messages API, started as a subprocess (no shared stack needed).

#include "common/http/curl_http_client.h"
#include "services/delivery/providers/twilio_sms_provider.h"
#include "tests/support/fake_server.h"
#include "tests/support/subprocess.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <regex>
#include <string>
#include <thread>
namespace otp::delivery {
namespace {

using namespace std::chrono_literals;

constexpr const char* kAccountSid = "AC9f0e1d2c3b4a59687766554433221100";
constexpr const char* kAuthToken = "integration-token";

/// The fake with this suite's Twilio credentials; its log goes next to the test binary.
Result<test::FakeProviders> start_fake() {
  return test::FakeProviders::start(
      (std::filesystem::path(OTP_TEST_LOG_DIR) / "fake_providers.log").string(),
      {"--account-sid", kAccountSid, "--auth-token", kAuthToken});
}

OutboundMessage test_message(std::string body) {
  return OutboundMessage{.tenant = "it-twilio",
                         .verification_id = "otp_00112233445566778899aabbccddeeff",
                         .job_id = "it-job",
                         .channel = "sms",
                         .to = "+447700900123",
                         .body = std::move(body),
                         .subject = ""};
}

class TwilioSmsProviderIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto started = start_fake();
    ASSERT_TRUE(started.has_value()) << started.error().message;
    fake_ = std::make_unique<test::FakeProviders>(std::move(*started));
  }
  static void TearDownTestSuite() { fake_.reset(); }
  void SetUp() override {
    ASSERT_NE(fake_, nullptr);
    fake_->reset();
  }

  TwilioConfig config(std::string token = kAuthToken) const {
    TwilioConfig config;
    config.base_url = fake_->base_url();
    config.account_sid = kAccountSid;
    config.auth_token = config::Secret(std::move(token));
    config.from = "+15005550006";
    config.timeout = 5s;
    return config;
  }

  static inline std::unique_ptr<test::FakeProviders> fake_;
  http::CurlHttpClient http_;
};

TEST_F(TwilioSmsProviderIntegrationTest, SendsAndTheFakeRecordsExactlyWhatWasSent) {
  TwilioSmsProvider provider(http_, config());
  const std::string body = "Acme: 482913 is your code. Don't share it & expires in 5 min +1 ünï";

  auto receipt = provider.send(test_message(body));

  ASSERT_TRUE(receipt.has_value()) << receipt.error().message;
  EXPECT_EQ(receipt->provider, "twilio");
  EXPECT_TRUE(std::regex_match(receipt->message_id, std::regex("SM[0-9a-f]{32}")))
      << receipt->message_id;
  const auto recorded = fake_->requests();
  ASSERT_EQ(recorded.size(), 1U) << recorded.dump();
  const auto& request = recorded[0];
  EXPECT_EQ(request["status"], 201);
  EXPECT_EQ(request["path"], std::string("/2010-04-01/Accounts/") + kAccountSid + "/Messages.json");
  EXPECT_EQ(request["headers"]["Authorization"], std::string("Basic ") + kAccountSid + ":***");
  EXPECT_EQ(request["form"]["To"], "+447700900123");
  EXPECT_EQ(request["form"]["From"], "+15005550006");
  EXPECT_EQ(request["form"]["Body"], body);
  EXPECT_FALSE(request["form"].contains("MessagingServiceSid"));
}

TEST_F(TwilioSmsProviderIntegrationTest, ReusesTheConnectionAcrossSends) {
  TwilioSmsProvider provider(http_, config());
  for (int i = 0; i < 3; ++i) {
    auto receipt = provider.send(test_message("code " + std::to_string(i)));
    ASSERT_TRUE(receipt.has_value()) << receipt.error().message;
  }
  EXPECT_EQ(fake_->requests().size(), 3U);
}

TEST_F(TwilioSmsProviderIntegrationTest, SendsMessagingServiceSidWhenConfigured) {
  auto with_service = config();
  with_service.messaging_service_sid = "MG00000000000000000000000000000001";
  TwilioSmsProvider provider(http_, with_service);

  ASSERT_TRUE(provider.send(test_message("hello")).has_value());

  const auto form = fake_->requests()[0]["form"];
  EXPECT_EQ(form["MessagingServiceSid"], "MG00000000000000000000000000000001");
  EXPECT_FALSE(form.contains("From"));
}

TEST_F(TwilioSmsProviderIntegrationTest, WrongTokenIsAPermanentCredentialsError) {
  TwilioSmsProvider provider(http_, config("wrong-token"));

  auto receipt = provider.send(test_message("hello"));

  ASSERT_FALSE(receipt.has_value());
  EXPECT_EQ(receipt.error().code, Errc::kPermanent);
  EXPECT_NE(receipt.error().message.find("20003"), std::string::npos) << receipt.error().message;
  EXPECT_EQ(receipt.error().message.find("wrong-token"), std::string::npos);
}

TEST_F(TwilioSmsProviderIntegrationTest, InvalidNumberIsPermanentWithoutTheNumber) {
  TwilioSmsProvider provider(http_, config());
  auto message = test_message("hello");
  message.to = "07700900123";

  auto receipt = provider.send(message);

  ASSERT_FALSE(receipt.has_value());
  EXPECT_EQ(receipt.error().code, Errc::kPermanent);
  EXPECT_NE(receipt.error().message.find("21211"), std::string::npos) << receipt.error().message;
  EXPECT_EQ(receipt.error().message.find("7700900123"), std::string::npos);
}

TEST_F(TwilioSmsProviderIntegrationTest, InjectedServiceUnavailableIsRetryable) {
  fake_->control("POST", "/_fake/behaviour", {{"statuses", {503}}});
  TwilioSmsProvider provider(http_, config());

  auto failed = provider.send(test_message("hello"));
  auto recovered = provider.send(test_message("hello"));

  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().code, Errc::kUnavailable);
  EXPECT_TRUE(failed.error().is_retryable());
  EXPECT_TRUE(recovered.has_value()) << recovered.error().message;
}

TEST_F(TwilioSmsProviderIntegrationTest, InjectedTooManyRequestsCarriesRetryAfter) {
  fake_->control("POST", "/_fake/behaviour", {{"statuses", {429}}, {"retry_after", 7}});
  TwilioSmsProvider provider(http_, config());

  auto receipt = provider.send(test_message("hello"));

  ASSERT_FALSE(receipt.has_value());
  EXPECT_EQ(receipt.error().code, Errc::kRateLimited);
  EXPECT_EQ(retry_after(receipt.error()), std::chrono::seconds(7)) << receipt.error().message;
}

TEST_F(TwilioSmsProviderIntegrationTest, SlowProviderIsATimeout) {
  fake_->control("POST", "/_fake/behaviour", {{"latency_ms", 1500}});
  auto impatient = config();
  impatient.timeout = 200ms;
  TwilioSmsProvider provider(http_, impatient);

  auto receipt = provider.send(test_message("hello"));

  ASSERT_FALSE(receipt.has_value());
  EXPECT_EQ(receipt.error().code, Errc::kTimeout) << receipt.error().message;
  // The fake records the abandoned request when its delay ends; wait so the next test starts clean.
  for (int i = 0; i < 100 && fake_->requests().empty(); ++i) std::this_thread::sleep_for(50ms);
}

TEST(FakeProviders, ExitsCleanlyOnSigterm) {
  auto fake = start_fake();
  ASSERT_TRUE(fake.has_value()) << fake.error().message;
  fake->process().terminate();
  EXPECT_EQ(fake->process().exit_status(), 0);
}

TEST(CurlHttpClient, ClosedPortIsUnavailable) {
  http::CurlHttpClient http;
  auto response = http.send(http::HttpRequest{.method = "POST",
                                              .url = "http://127.0.0.1:1/x?secret=1",
                                              .headers = {},
                                              .body = "a=b",
                                              .timeout = 2s,
                                              .basic_auth = std::nullopt});
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code, Errc::kUnavailable);
  EXPECT_EQ(response.error().message.find("secret"), std::string::npos) << response.error().message;
}

TEST(CurlHttpClient, MalformedUrlIsInternal) {
  http::CurlHttpClient http;
  auto response = http.send(http::HttpRequest{.method = "GET",
                                              .url = "ftp://127.0.0.1/x",
                                              .headers = {},
                                              .body = "",
                                              .timeout = 2s,
                                              .basic_auth = std::nullopt});
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code, Errc::kInternal) << response.error().message;
}

TEST(Subprocess, ReportsAProgramThatCannotBeExecuted) {
  auto process = test::Subprocess::start({"/nonexistent/program"}, {}, "");
  ASSERT_FALSE(process.has_value());
  EXPECT_NE(process.error().message.find("/nonexistent/program"), std::string::npos);
}

TEST(Subprocess, ReadsLinesPassesEnvironmentAndTerminates) {
  // The trap comes before the echo: once the line is read, SIGTERM must find it installed
  // (the other order failed now and then with 143 under load).
  auto process =
      test::Subprocess::start({"/bin/sh", "-c",
                               "trap 'exit 3' TERM; echo \"hello $OTP_SUBPROCESS_TEST\"; "
                               "while true; do sleep 0.05; done"},
                              {{"OTP_SUBPROCESS_TEST", "world"}}, "");
  ASSERT_TRUE(process.has_value()) << process.error().message;

  EXPECT_EQ(process->read_line(5s), "hello world");
  EXPECT_TRUE(process->running());
  EXPECT_GT(process->pid(), 0);
  process->terminate();
  EXPECT_FALSE(process->running());
  EXPECT_EQ(process->exit_status(), 3);
}

TEST(Subprocess, Kill9EndsAProcessThatIgnoresTerm) {
  auto process = test::Subprocess::start(
      {"/bin/sh", "-c", "trap '' TERM; echo ready; while true; do sleep 0.05; done"}, {}, "");
  ASSERT_TRUE(process.has_value()) << process.error().message;
  ASSERT_EQ(process->read_line(5s), "ready");
  process->kill9();
  EXPECT_FALSE(process->running());
  EXPECT_EQ(process->exit_status(), 128 + SIGKILL);
}

}  // namespace
}  // namespace otp::delivery
