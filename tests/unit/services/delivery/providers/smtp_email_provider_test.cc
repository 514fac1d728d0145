// SmtpEmailProvider: the RFC 5322 message it builds, its configuration rules and how libcurl
// outcomes are classified (the transfer itself is in tests/integration/providers).

#include "services/delivery/providers/smtp_email_provider.h"

#include "common/crypto/base64.h"

#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <stdexcept>

namespace otp::delivery {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::Not;

SmtpConfig test_config() {
  return SmtpConfig{.url = "smtp://mail.example:587",
                    .username = "mailer",
                    .password = config::Secret("smtp-pass"),
                    .from = "Acme <no-reply@acme.example>",
                    .require_tls = true,
                    .ca_file = "",
                    .timeout = milliseconds(5000)};
}

OutboundMessage message() {
  return OutboundMessage{.tenant = "acme",
                         .verification_id = "otp_1",
                         .job_id = "job-42",
                         .channel = "email",
                         .to = "Ana <ana@example.com>",
                         .body = "<p>Code <strong>482913</strong></p>",
                         .subject = "Seu código Acme",
                         .text = "Code 482913"};
}

TEST(SmtpEmailProvider, BuildsEnvelopeAndAnRfc5322Message) {
  SmtpEmailProvider provider(test_config());
  auto request = provider.build_request(message());
  ASSERT_TRUE(request.has_value()) << request.error().message;
  EXPECT_EQ(request->url, "smtp://mail.example:587");
  EXPECT_EQ(request->mail_from, "<no-reply@acme.example>");
  EXPECT_EQ(request->rcpt, std::vector<std::string>{"<ana@example.com>"});
  EXPECT_TRUE(request->require_tls);
  EXPECT_EQ(request->username, "mailer");
  EXPECT_EQ(request->message_id, "job-42@acme.example");
  const auto& p = request->payload;
  EXPECT_THAT(p, HasSubstr("From: Acme <no-reply@acme.example>\r\n"));
  EXPECT_THAT(p, HasSubstr("To: <ana@example.com>\r\n"));
  EXPECT_THAT(
      p, HasSubstr("Subject: =?UTF-8?B?" + crypto::base64_encode("Seu código Acme") + "?=\r\n"));
  EXPECT_THAT(p, HasSubstr("Message-ID: <job-42@acme.example>\r\n"));
  EXPECT_THAT(p, HasSubstr("MIME-Version: 1.0\r\n"));
  EXPECT_TRUE(std::regex_search(
      p,
      std::regex(
          R"(Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d \+0000\r\n)")));
  EXPECT_THAT(p, HasSubstr("Content-Type: multipart/alternative; boundary="));
  EXPECT_THAT(p, HasSubstr(crypto::base64_encode("Code 482913")));
  EXPECT_THAT(p, HasSubstr(crypto::base64_encode("<p>Code <strong>482913</strong></p>")));
  // Every line ends in CRLF and none is longer than RFC 5322's 998.
  for (std::size_t start = 0; start < p.size();) {
    const auto end = p.find("\r\n", start);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LE(end - start, 998U);
    EXPECT_EQ(p.substr(start, end - start).find('\n'), std::string::npos);
    start = end + 2;
  }
}

TEST(SmtpEmailProvider, TenantSenderAndHeaderInjection) {
  SmtpEmailProvider provider(test_config());
  auto m = message();
  m.sender = "codes@globex.example";
  auto request = provider.build_request(m);
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->mail_from, "<codes@globex.example>");
  m.subject = "Hi\r\nBcc: victim@example.com";
  EXPECT_EQ(provider.build_request(m).error().code, Errc::kPermanent);
  m = message();
  m.to = "ana@example.com\r\nBcc: x@example.com";
  EXPECT_EQ(provider.build_request(m).error().code, Errc::kPermanent);
  m.to = "not-an-address";
  EXPECT_EQ(provider.build_request(m).error().code, Errc::kPermanent);
}

TEST(SmtpEmailProvider, TlsMayOnlyBeDisabledForALoopbackRelay) {
  auto config = test_config();
  config.require_tls = false;
  EXPECT_THROW(SmtpEmailProvider{config}, std::invalid_argument);
  config.url = "smtp://127.0.0.1:2525";
  EXPECT_NO_THROW(SmtpEmailProvider{config});
  config.url = "smtp://localhost:2525";
  EXPECT_NO_THROW(SmtpEmailProvider{config});
  config.url = "http://127.0.0.1:2525";
  EXPECT_THROW(SmtpEmailProvider{config}, std::invalid_argument);
  config = test_config();
  config.from = "nobody";
  EXPECT_THROW(SmtpEmailProvider{config}, std::invalid_argument);
}

TEST(SmtpEmailProvider, OutcomesAreClassified) {
  SmtpEmailProvider provider(test_config());
  const auto request = *provider.build_request(message());
  auto ok = provider.interpret(request, SmtpOutcome{.curl_code = CURLE_OK,
                                                    .smtp_status = 250,
                                                    .elapsed = milliseconds(12),
                                                    .curl_error = ""});
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->provider, "smtp");
  EXPECT_EQ(ok->message_id, "job-42@acme.example");
  EXPECT_EQ(ok->latency, milliseconds(12));

  const std::vector<std::tuple<int, long, Errc>> cases = {
      {CURLE_SEND_ERROR, 550, Errc::kPermanent},
      {CURLE_SEND_ERROR, 451, Errc::kUnavailable},
      {CURLE_OPERATION_TIMEDOUT, 0, Errc::kTimeout},
      {CURLE_USE_SSL_FAILED, 250, Errc::kPermanent},
      {CURLE_LOGIN_DENIED, 0, Errc::kPermanent},
      {CURLE_PEER_FAILED_VERIFICATION, 0, Errc::kPermanent},
      {CURLE_COULDNT_CONNECT, 0, Errc::kUnavailable},
  };
  for (const auto& [code, status, expected] : cases) {
    auto receipt = provider.interpret(
        request,
        SmtpOutcome{.curl_code = code, .smtp_status = status, .elapsed = {}, .curl_error = "x"});
    ASSERT_FALSE(receipt.has_value());
    EXPECT_EQ(receipt.error().code, expected) << code << " " << status;
    EXPECT_THAT(receipt.error().message, Not(HasSubstr("smtp-pass")));
    EXPECT_THAT(receipt.error().message, Not(HasSubstr("482913")));
  }
}

TEST(SmtpEmailProvider, AddressHelpers) {
  EXPECT_EQ(email_address("Acme <a@b.example>"), "a@b.example");
  EXPECT_EQ(email_address("a@b.example"), "a@b.example");
  EXPECT_EQ(email_address("a b@c"), "");
  EXPECT_EQ(email_address("<@b>"), "");
  EXPECT_EQ(encode_header_text("plain"), "plain");
}

}  // namespace
}  // namespace otp::delivery
