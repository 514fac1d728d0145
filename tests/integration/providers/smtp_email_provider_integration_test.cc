// SmtpEmailProvider (libcurl) against a real SMTP server, tests/support/smtp_server.py (Debian's
// python3-aiosmtpd), with STARTTLS over a self-signed certificate made here with the openssl CLI.

#include "common/crypto/base64.h"
#include "services/delivery/providers/smtp_email_provider.h"
#include "tests/support/fake_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <unistd.h>

namespace otp::delivery {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

namespace fs = std::filesystem;

struct SmtpServer {
  test::Subprocess process;
  int port = 0;
  fs::path record;

  std::vector<nlohmann::json> messages() const {
    std::vector<nlohmann::json> out;
    std::ifstream in(record);
    for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
    return out;
  }
};

class SmtpIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // One folder per process: ctest runs each test of this suite as a process of its own, at the
    // same time as others, and a shared folder had one process's key replaced under another.
    dir_ = fs::path(OTP_TEST_LOG_DIR) / ("smtp_it-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    const std::string command =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost"
        " -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout " +
        (dir_ / "key.pem").string() + " -out " + (dir_ / "cert.pem").string() + " 2>/dev/null";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }

  static void TearDownTestSuite() {
    const auto* suite = ::testing::UnitTest::GetInstance()->current_test_suite();
    if (suite != nullptr && suite->Passed()) fs::remove_all(dir_);  // kept for a failure's logs
  }

  static std::optional<SmtpServer> start(const std::string& name, std::vector<std::string> extra) {
    const auto record = dir_ / (name + ".jsonl");
    std::vector<std::string> argv = {OTP_SYSTEM_PYTHON3, OTP_SMTP_SERVER_PY, "--record-file",
                                     record.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto started = test::start_listening(std::move(argv), (dir_ / (name + ".log")).string());
    if (!started) {
      ADD_FAILURE() << started.error().message;
      return std::nullopt;
    }
    return SmtpServer{std::move(started->first), started->second, record};
  }

  static std::optional<SmtpServer> start_tls(const std::string& name,
                                             std::vector<std::string> extra = {}) {
    extra.insert(extra.end(), {"--tls-cert", (dir_ / "cert.pem").string(), "--tls-key",
                               (dir_ / "key.pem").string()});
    return start(name, std::move(extra));
  }

  static SmtpConfig config(int port, bool tls = true) {
    return SmtpConfig{.url = "smtp://127.0.0.1:" + std::to_string(port),
                      .username = "",
                      .password = config::Secret(""),
                      .from = "Acme <codes@acme.example>",
                      .require_tls = tls,
                      .ca_file = (dir_ / "cert.pem").string(),
                      .timeout = 10s};
  }

  static OutboundMessage message(std::string to = "ana@example.com") {
    return OutboundMessage{.tenant = "it",
                           .verification_id = "otp_it",
                           .job_id = "job-smtp-1",
                           .channel = "email",
                           .to = std::move(to),
                           .body = "<p>Código <strong>482913</strong></p>",
                           .subject = "Tu código de verificación de Acme",
                           .text = "Tu código es 482913"};
  }

  static inline fs::path dir_;
};

TEST_F(SmtpIntegrationTest, DeliversOverStartTlsAndTheServerReceivesTheMessage) {
  auto server = start_tls("tls");
  ASSERT_TRUE(server.has_value());
  SmtpEmailProvider provider(config(server->port));
  auto receipt = provider.send(message());
  ASSERT_TRUE(receipt.has_value()) << receipt.error().message;
  EXPECT_EQ(receipt->provider, "smtp");
  EXPECT_EQ(receipt->message_id, "job-smtp-1@acme.example");

  const auto received = server->messages();
  ASSERT_EQ(received.size(), 1U);
  const auto& m = received[0];
  EXPECT_TRUE(m["tls"].get<bool>());
  EXPECT_EQ(m["mail_from"], "codes@acme.example");
  EXPECT_EQ(m["rcpt_tos"], nlohmann::json::array({"ana@example.com"}));
  const std::string data = m["data"];
  EXPECT_THAT(data, HasSubstr("From: Acme <codes@acme.example>\r\n"));
  EXPECT_THAT(data, HasSubstr("To: <ana@example.com>\r\n"));
  EXPECT_THAT(data, HasSubstr("Message-ID: <job-smtp-1@acme.example>\r\n"));
  EXPECT_THAT(data, HasSubstr("Subject: =?UTF-8?B?" +
                              crypto::base64_encode("Tu código de verificación de Acme") + "?="));
  EXPECT_THAT(data, HasSubstr(crypto::base64_encode("Tu código es 482913")));
}

TEST_F(SmtpIntegrationTest, RefusesToSendInClearWhenTheServerOffersNoStartTls) {
  auto server = start("plain", {});
  ASSERT_TRUE(server.has_value());
  SmtpEmailProvider provider(config(server->port, /*tls=*/true));
  auto receipt = provider.send(message());
  ASSERT_FALSE(receipt.has_value());
  EXPECT_EQ(receipt.error().code, Errc::kPermanent);
  EXPECT_THAT(receipt.error().message, HasSubstr("STARTTLS"));
  EXPECT_TRUE(server->messages().empty());
}

TEST_F(SmtpIntegrationTest, PlainLoopbackRelayWorksWhenTlsIsExplicitlyDisabled) {
  auto server = start("plain-ok", {});
  ASSERT_TRUE(server.has_value());
  SmtpEmailProvider provider(config(server->port, /*tls=*/false));
  auto receipt = provider.send(message());
  ASSERT_TRUE(receipt.has_value()) << receipt.error().message;
  const auto received = server->messages();
  ASSERT_EQ(received.size(), 1U);
  EXPECT_FALSE(received[0]["tls"].get<bool>());
}

TEST_F(SmtpIntegrationTest, AnUntrustedCertificateIsPermanent) {
  auto server = start_tls("untrusted");
  ASSERT_TRUE(server.has_value());
  auto untrusted = config(server->port);
  untrusted.ca_file = "/etc/ssl/certs/ca-certificates.crt";
  SmtpEmailProvider provider(untrusted);
  auto receipt = provider.send(message());
  ASSERT_FALSE(receipt.has_value());
  EXPECT_EQ(receipt.error().code, Errc::kPermanent);
}

TEST_F(SmtpIntegrationTest, RecipientRejectionsAreClassifiedBySmtpCode) {
  auto server = start_tls("rcpt", {"--reject-rcpt", "nobody@", "--defer-rcpt", "later@"});
  ASSERT_TRUE(server.has_value());
  SmtpEmailProvider provider(config(server->port));
  auto rejected = provider.send(message("nobody@example.com"));
  ASSERT_FALSE(rejected.has_value());
  EXPECT_EQ(rejected.error().code, Errc::kPermanent);
  EXPECT_THAT(rejected.error().message, HasSubstr("550"));
  auto deferred = provider.send(message("later@example.com"));
  ASSERT_FALSE(deferred.has_value());
  EXPECT_EQ(deferred.error().code, Errc::kUnavailable);
  EXPECT_THAT(deferred.error().message, HasSubstr("451"));
  EXPECT_TRUE(server->messages().empty());
}

TEST_F(SmtpIntegrationTest, AuthenticatesOverTls) {
  auto server = start_tls("auth", {"--auth", "mailer:s3cret"});
  ASSERT_TRUE(server.has_value());
  auto good = config(server->port);
  good.username = "mailer";
  good.password = config::Secret("s3cret");
  auto receipt = SmtpEmailProvider(good).send(message());
  ASSERT_TRUE(receipt.has_value()) << receipt.error().message;
  EXPECT_EQ(server->messages().at(0)["auth"], "mailer");

  auto bad = good;
  bad.password = config::Secret("wrong");
  auto refused = SmtpEmailProvider(bad).send(message());
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, Errc::kPermanent);
  EXPECT_THAT(refused.error().message, ::testing::Not(HasSubstr("wrong")));
}

TEST_F(SmtpIntegrationTest, ANonListeningPortIsUnavailable) {
  auto closed = config(1);  // port 1: nothing listens there
  SmtpEmailProvider provider(closed);
  auto receipt = provider.send(message());
  ASSERT_FALSE(receipt.has_value());
  EXPECT_EQ(receipt.error().code, Errc::kUnavailable);
}

}  // namespace
}  // namespace otp::delivery
