// Tenant templates end to end against the stack's PostgreSQL (OTP_TEST_PG_URL, migration 0007):
// `otpctl template` functions write, `PgTemplateStore` serves a refreshed snapshot, the renderer
// uses it.

#include "services/delivery/templates/pg_template_store.h"
#include "services/delivery/templates/renderer.h"
#include "services/otpctl/template_commands.h"
#include "tests/support/stack_env.h"
#include "tests/support/subprocess.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>

namespace otp::delivery {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

class TemplateStoreIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = test::required_env("OTP_TEST_PG_URL");
    ASSERT_FALSE(url_.empty());
    db_ = std::make_unique<pg::PgConnection>(config::Secret(url_), pg::PgOptions{});
    tenant_ = "tpl-it-" + std::to_string(std::random_device{}());
    auto created =
        db_->exec("INSERT INTO tenants (id, name) VALUES ($1, 'templates it')", {tenant_});
    ASSERT_TRUE(created.has_value()) << created.error().message;
  }
  void TearDown() override {
    if (db_) static_cast<void>(db_->exec("DELETE FROM tenants WHERE id = $1", {tenant_}));
  }

  StoredTemplate sms(std::string locale, std::string body) const {
    return StoredTemplate{.tenant = tenant_,
                          .channel = "sms",
                          .locale = std::move(locale),
                          .name = "default",
                          .subject = "",
                          .body = std::move(body),
                          .sender = ""};
  }

  RenderInput input(std::string locale) const {
    return RenderInput{.tenant = tenant_,
                       .channel = messages::Channel::kSms,
                       .recipient = "+5511987654321",
                       .locale = std::move(locale),
                       .template_name = "",
                       .sender = "",
                       .code = "482913",
                       .expires_in = 5min,
                       .app_hash = ""};
  }

  std::string url_;
  std::unique_ptr<pg::PgConnection> db_;
  std::string tenant_;
};

TEST_F(TemplateStoreIntegrationTest, InvalidTemplatesAndUnknownTenantsAreNotStored) {
  auto missing_code = otpctl::set_template(*db_, sms("en", "Your code is ready"));
  ASSERT_FALSE(missing_code.has_value());
  EXPECT_EQ(missing_code.error().code, Errc::kInvalidInput);
  auto unknown = otpctl::set_template(*db_, sms("en", "{{code}} {{colour}}"));
  EXPECT_THAT(unknown.error().message, HasSubstr("{{colour}}"));
  auto nobody = sms("en", "{{code}}");
  nobody.tenant = "no-such-tenant-xyz";
  EXPECT_EQ(otpctl::set_template(*db_, nobody).error().code, Errc::kNotFound);
  EXPECT_TRUE(otpctl::list_templates(*db_, tenant_, "")->empty());
}

TEST_F(TemplateStoreIntegrationTest, SavedTemplatesAreServedAndRefreshed) {
  auto saved =
      otpctl::set_template(*db_, sms("pt_br", "{{code}} é o código {{brand}} ({{minutes}} min)"));
  ASSERT_TRUE(saved.has_value()) << saved.error().message;
  EXPECT_EQ(saved->segments, 1);
  EXPECT_EQ(saved->encoding, "ucs2");
  ASSERT_TRUE(otpctl::set_sender(*db_, tenant_, "sms", "ACMEBR", "Acme Brasil").has_value());
  const auto listed = otpctl::list_templates(*db_, tenant_, "sms");
  ASSERT_EQ(listed->size(), 1U);
  EXPECT_EQ(listed->at(0).locale, "pt-BR");  // normalized when saved

  PgTemplateStore store(config::Secret(url_), 200ms);
  ASSERT_TRUE(store.start().has_value());
  Renderer renderer(store, "OTP");
  auto rendered = renderer.render(input("pt-BR"));
  ASSERT_TRUE(rendered.has_value());
  EXPECT_EQ(rendered->body, "482913 é o código Acme Brasil (5 min)");
  EXPECT_EQ(rendered->sender, "ACMEBR");
  EXPECT_TRUE(rendered->tenant_template);

  ASSERT_TRUE(otpctl::set_template(*db_, sms("pt-BR", "Novo: {{code}}")).has_value());
  EXPECT_TRUE(test::eventually(
      5s, [&] { return renderer.render(input("pt-BR"))->body == "Novo: 482913"; }));

  ASSERT_TRUE(otpctl::delete_template(*db_, tenant_, "sms", "pt-BR", "default").has_value());
  EXPECT_TRUE(
      test::eventually(5s, [&] { return !renderer.render(input("pt-BR"))->tenant_template; }));
  EXPECT_EQ(otpctl::delete_template(*db_, tenant_, "sms", "pt-BR", "default").error().code,
            Errc::kNotFound);
}

TEST_F(TemplateStoreIntegrationTest, AnUnreachableDatabaseLeavesTheBuiltIns) {
  PgTemplateStore store(config::Secret("postgresql://otp@127.0.0.1:1/otp?connect_timeout=1"), 1s);
  EXPECT_FALSE(store.start().has_value());
  Renderer renderer(store, "OTP");
  auto rendered = renderer.render(input(""));
  ASSERT_TRUE(rendered.has_value());
  EXPECT_FALSE(rendered->tenant_template);
  EXPECT_EQ(rendered->locale, "pt");
}

// The otpctl binary itself: argument parsing, --body-file, the printed segment count, exit codes.
struct Run {
  std::vector<std::string> lines;
  int status = -1;
};

Run otpctl(const std::string& url, std::vector<std::string> args) {
  args.insert(args.begin(), OTP_OTPCTL_BIN);
  auto process = test::Subprocess::start(std::move(args), {{"OTP_PG_URL", url}}, "");
  Run run;
  if (!process) return run;
  while (auto line = process->read_line(10s)) run.lines.push_back(*line);
  test::eventually(10s, [&] { return !process->running(); });
  run.status = process->exit_status().value_or(-1);
  return run;
}

TEST_F(TemplateStoreIntegrationTest, OtpctlSavesFromAFileShowsSegmentsAndRefusesBadTemplates) {
  const auto file = std::filesystem::path(::testing::TempDir()) / (tenant_ + "-email.txt");
  std::ofstream(file) << "Your {{brand}} code is {{code}}.\n\nIt expires in {{minutes}} minutes.\n";
  auto email =
      otpctl(url_, {"template", "set", "--tenant", tenant_, "--channel", "email", "--locale", "en",
                    "--subject", "Your {{brand}} code", "--body-file", file.string()});
  EXPECT_EQ(email.status, 0);
  auto sms = otpctl(url_, {"template", "set", "--tenant", tenant_, "--channel", "sms", "--locale",
                           "fr", "--body", "{{code}} est votre code {{brand}}."});
  EXPECT_EQ(sms.status, 0);
  ASSERT_EQ(sms.lines.size(), 1U);
  EXPECT_THAT(sms.lines[0], HasSubstr("(1 segment, gsm7,"));
  auto bad = otpctl(url_, {"template", "set", "--tenant", tenant_, "--channel", "sms", "--locale",
                           "fr", "--body", "pas de code"});
  EXPECT_EQ(bad.status, 2);
  auto usage = otpctl(url_, {"template", "set", "--tenant", tenant_, "--unknown", "x"});
  EXPECT_EQ(usage.status, 2);

  const auto stored = otpctl::list_templates(*db_, tenant_, "");
  ASSERT_EQ(stored->size(), 2U);
  EXPECT_EQ(stored->at(0).channel, "email");
  EXPECT_EQ(stored->at(0).body,
            "Your {{brand}} code is {{code}}.\n\nIt expires in {{minutes}} minutes.");
  EXPECT_EQ(stored->at(1).body,
            "{{code}} est votre code {{brand}}.");  // the refused one did not replace it
  auto listed = otpctl(url_, {"template", "list", "--tenant", tenant_});
  EXPECT_EQ(listed.status, 0);
  ASSERT_FALSE(listed.lines.empty());
  EXPECT_EQ(listed.lines.back(), "templates: 2");
}

}  // namespace
}  // namespace otp::delivery
