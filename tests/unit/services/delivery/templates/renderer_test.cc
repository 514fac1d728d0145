#include "services/delivery/templates/renderer.h"

#include "services/delivery/providers/sms_encoding.h"
#include "services/delivery/templates/builtin_templates.h"
#include "services/delivery/templates/locale.h"
#include "services/delivery/templates/template_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace otp::delivery {
namespace {

using messages::Channel;
using std::chrono::minutes;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

RenderInput sms(std::string recipient = "+14155550100", std::string locale = "") {
  return RenderInput{.tenant = "acme",
                     .channel = Channel::kSms,
                     .recipient = std::move(recipient),
                     .locale = std::move(locale),
                     .template_name = "",
                     .sender = "",
                     .code = "482913",
                     .expires_in = minutes(10),
                     .app_hash = ""};
}

class RendererTest : public ::testing::Test {
 protected:
  InMemoryTemplateStore store_;
  Renderer renderer_{store_, "OTP"};
};

TEST_F(RendererTest, BuiltInEnglishSmsCarriesCodeBrandMinutesAndDoNotShare) {
  auto rendered = renderer_.render(sms());
  ASSERT_TRUE(rendered.has_value());
  EXPECT_EQ(rendered->body, "482913 is your OTP code. Expires in 10 min. Do not share it.");
  EXPECT_EQ(rendered->locale, "en");
  EXPECT_EQ(rendered->template_name, "default");
  EXPECT_FALSE(rendered->tenant_template);
  EXPECT_EQ(rendered->segments, 1);
  EXPECT_EQ(rendered->encoding, "gsm7");
  EXPECT_EQ(rendered->sender, "");
}

TEST_F(RendererTest, LocaleComesFromTheRequestThenThePhoneCountryThenEnglish) {
  EXPECT_EQ(renderer_.render(sms("+14155550100", "pt-BR"))->locale, "pt");
  EXPECT_EQ(renderer_.render(sms("+5511987654321"))->locale, "pt");
  EXPECT_EQ(renderer_.render(sms("+34612345678"))->locale, "es");
  EXPECT_EQ(renderer_.render(sms("+525512345678"))->locale, "es");
  EXPECT_EQ(renderer_.render(sms("+33612345678"))->locale, "fr");
  EXPECT_EQ(renderer_.render(sms("+4915123456789"))->locale, "de");
  EXPECT_EQ(renderer_.render(sms("+919812345678"))->locale, "en");  // documented choice
  EXPECT_EQ(renderer_.render(sms("+819012345678"))->locale, "en");  // no Japanese built-in
  EXPECT_EQ(renderer_.render(sms("+5511987654321", "hi"))->locale, "hi");
  EXPECT_EQ(renderer_.render(sms("+5511987654321", "not a locale!"))->locale, "pt");
}

TEST_F(RendererTest, EveryBuiltInSmsFitsOneSegmentAndSaysNotToShare) {
  const std::map<std::string, std::string> do_not_share = {
      {"en", "Do not share"},       {"es", "No lo compartas"},   {"pt", "Não o compartilhe"},
      {"fr", "Ne le partagez pas"}, {"de", "Nicht weitergeben"}, {"hi", "साझा न करें"}};
  for (const auto& language : builtin_languages()) {
    auto input = sms("+14155550100", language);
    input.sender = "Acme";
    auto rendered = renderer_.render(input);
    ASSERT_TRUE(rendered.has_value());
    EXPECT_EQ(rendered->locale, language);
    EXPECT_EQ(rendered->segments, 1) << language << ": " << rendered->body;
    EXPECT_THAT(rendered->body, HasSubstr("482913")) << language;
    EXPECT_THAT(rendered->body, HasSubstr("Acme")) << language;
    EXPECT_THAT(rendered->body, HasSubstr("10")) << language;
    EXPECT_THAT(rendered->body, HasSubstr(do_not_share.at(language))) << language;
    for (const auto channel : {"email", "whatsapp"}) {
      ASSERT_TRUE(builtin_template(channel, language).has_value()) << channel << language;
    }
  }
  EXPECT_EQ(renderer_.render(sms("+14155550100", "fr"))->encoding, "gsm7");
  EXPECT_EQ(renderer_.render(sms("+14155550100", "pt"))->encoding, "ucs2");
}

TEST_F(RendererTest, BrandIsTheRequestFromThenTheTenantDefaultThenTheConfig) {
  auto input = sms();
  EXPECT_THAT(renderer_.render(input)->body, HasSubstr("your OTP code"));
  store_.put_sender("acme", "sms", SenderDefaults{.sender = "ACMEID", .brand = "Acme Bank"});
  auto rendered = renderer_.render(input);
  EXPECT_THAT(rendered->body, HasSubstr("your Acme Bank code"));
  EXPECT_EQ(rendered->sender, "ACMEID");
  input.sender = "Acme Pay";
  EXPECT_THAT(renderer_.render(input)->body, HasSubstr("your Acme Pay code"));
  input.tenant = "other";
  EXPECT_EQ(renderer_.render(input)->sender, "");
}

TEST_F(RendererTest, AppHashAddsTheSmsRetrieverPrefixAndHashLine) {
  auto input = sms();
  input.app_hash = "FA+9qCX9VSu";
  auto rendered = renderer_.render(input);
  EXPECT_THAT(rendered->body, StartsWith("<#> 482913 is your"));
  EXPECT_THAT(rendered->body, EndsWith("\nFA+9qCX9VSu"));
  EXPECT_EQ(rendered->segments, 1);
  input.app_hash = "short";
  EXPECT_THAT(renderer_.render(input)->body, Not(HasSubstr("<#>")));
}

TEST_F(RendererTest, TenantTemplatesWinByLocaleThenLanguageAndNamedOnesFallBack) {
  store_.put(StoredTemplate{.tenant = "acme",
                            .channel = "sms",
                            .locale = "pt-BR",
                            .name = "default",
                            .subject = "",
                            .body = "BR {{code}}",
                            .sender = "ACMEBR"});
  store_.put(StoredTemplate{.tenant = "acme",
                            .channel = "sms",
                            .locale = "pt",
                            .name = "default",
                            .subject = "",
                            .body = "PT {{code}}",
                            .sender = ""});
  store_.put(StoredTemplate{.tenant = "acme",
                            .channel = "sms",
                            .locale = "en",
                            .name = "login",
                            .subject = "",
                            .body = "Login {{code}} {{brand}}",
                            .sender = ""});
  auto br = renderer_.render(sms("+5511987654321", "pt-BR"));
  EXPECT_EQ(br->body, "BR 482913");
  EXPECT_EQ(br->sender, "ACMEBR");
  EXPECT_TRUE(br->tenant_template);
  EXPECT_EQ(br->locale, "pt-BR");
  EXPECT_EQ(renderer_.render(sms("+351912345678", "pt-PT"))->body, "PT 482913");
  auto login = sms("+14155550100");
  login.template_name = "login";
  EXPECT_EQ(renderer_.render(login)->body, "Login 482913 OTP");
  EXPECT_EQ(renderer_.render(login)->template_name, "login");
  login.template_name = "missing";
  auto fallback = renderer_.render(login);
  EXPECT_EQ(fallback->template_name, "default");
  EXPECT_FALSE(fallback->tenant_template);
  // Another tenant never sees acme's templates.
  auto other = sms("+5511987654321", "pt-BR");
  other.tenant = "globex";
  EXPECT_FALSE(renderer_.render(other)->tenant_template);
}

TEST_F(RendererTest, EmailHasSubjectTextAndEscapedHtml) {
  auto input = sms("ana@example.com", "de");
  input.channel = Channel::kEmail;
  input.sender = "Acme <&> Co";
  auto rendered = renderer_.render(input);
  ASSERT_TRUE(rendered.has_value());
  EXPECT_EQ(rendered->subject, "Ihr Acme <&> Co-Bestätigungscode");
  EXPECT_THAT(rendered->text, HasSubstr("lautet 482913."));
  EXPECT_THAT(rendered->text, HasSubstr("an niemanden weiter"));
  EXPECT_THAT(rendered->body, HasSubstr("Acme &lt;&amp;&gt; Co"));
  EXPECT_THAT(rendered->body, HasSubstr(">482913</strong>"));
  EXPECT_THAT(rendered->body, Not(HasSubstr("<&>")));
  EXPECT_EQ(rendered->segments, 0);
  EXPECT_EQ(rendered->locale, "de");  // an email address says nothing about the language
  input.locale = "";
  EXPECT_EQ(renderer_.render(input)->locale, "en");
}

TEST_F(RendererTest, MinutesNeverShowZeroAndAnEmptyCodeIsRefused) {
  auto input = sms();
  input.expires_in = minutes(0);
  EXPECT_THAT(renderer_.render(input)->body, HasSubstr("Expires in 1 min"));
  input.code.clear();
  EXPECT_EQ(renderer_.render(input).error().code, Errc::kInvalidInput);
}

TEST(TemplateValidation, RequiresTheCodeAndRejectsUnknownPlaceholders) {
  auto ok = validate_template("sms", "en", "default", "",
                              "{{code}} is your {{ brand }} code ({{minutes}} min)", "");
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_EQ(ok->segments, 1);
  EXPECT_EQ(ok->encoding, "gsm7");
  EXPECT_THAT(validate_template("sms", "en", "default", "", "no code here", "").error().message,
              HasSubstr("{{code}}"));
  EXPECT_THAT(
      validate_template("sms", "en", "default", "", "{{code}} {{name}}", "").error().message,
      HasSubstr("unknown placeholder {{name}}"));
  EXPECT_THAT(validate_template("sms", "en", "default", "", "{{code}} {{brand", "").error().message,
              HasSubstr("unterminated"));
  EXPECT_FALSE(validate_template("sms", "en", "default", "",
                                 std::string(200, 'x') + "{{code}}" + std::string(300, 'y'), "")
                   .has_value());
  auto three =
      validate_template("sms", "pt", "default", "", std::string(190, 'x') + "ç {{code}}", "");
  ASSERT_TRUE(three.has_value());
  EXPECT_EQ(three->segments, 3);
  EXPECT_EQ(three->encoding, "ucs2");
  EXPECT_FALSE(
      validate_template("sms", "pt", "default", "", std::string(250, 'x') + "ç {{code}}", "")
          .has_value());
  EXPECT_FALSE(validate_template("email", "en", "default", "", "{{code}}", "").has_value());
  EXPECT_FALSE(
      validate_template("email", "en", "default", "Hi\nthere", "{{code}}", "").has_value());
  EXPECT_TRUE(validate_template("email", "en", "default", "Your {{brand}} code", "{{code}}", "")
                  .has_value());
  EXPECT_FALSE(
      validate_template("email", "en", "default", "{{secret}}", "{{code}}", "").has_value());
  EXPECT_FALSE(validate_template("fax", "en", "default", "", "{{code}}", "").has_value());
  EXPECT_FALSE(validate_template("sms", "english", "default", "", "{{code}}", "").has_value());
  EXPECT_FALSE(validate_template("sms", "en", "Bad Name", "", "{{code}}", "").has_value());
  EXPECT_FALSE(validate_template("sms", "en", "default", "", "{{code}}", "a\r\nb").has_value());
}

TEST(Locale, Normalization) {
  EXPECT_EQ(normalize_locale("pt_br"), "pt-BR");
  EXPECT_EQ(normalize_locale("EN"), "en");
  EXPECT_EQ(normalize_locale("e"), "");
  EXPECT_EQ(normalize_locale("en-GBR"), "");
  EXPECT_EQ(language_of("pt-BR"), "pt");
  EXPECT_EQ(language_for_phone("ana@example.com"), "");
  EXPECT_EQ(language_for_phone("+43664123456"), "de");
  EXPECT_EQ(language_for_phone("+5511987654321"), "pt");
  EXPECT_EQ(language_for_phone("+33612345678"), "fr");
  EXPECT_EQ(language_for_phone("+14155552671"), "en");
  // Not a valid number: libphonenumber still names the calling code's only region, as before.
  EXPECT_EQ(language_for_phone("+4912"), "de");
  EXPECT_EQ(language_for_phone("+"), "");
}

}  // namespace
}  // namespace otp::delivery
