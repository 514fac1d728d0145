#include "services/intake/recipient_validator.h"

#include <gtest/gtest.h>

#include <string>

namespace otp::intake {
namespace {

TEST(NormalizePhoneNumber, AcceptsValidInternationalNumbersAsE164) {
  const std::pair<const char*, const char*> cases[] = {
      {"+14155552671", "+14155552671"},     {"+1 (415) 555-2671", "+14155552671"},
      {"+44 7911 123456", "+447911123456"}, {"+91.98765.43210", "+919876543210"},
      {"+5511987654321", "+5511987654321"},
  };
  for (const auto& [input, expected] : cases) {
    auto normalized = normalize_phone_number(input);
    ASSERT_TRUE(normalized.has_value()) << input << ": " << normalized.error().message;
    EXPECT_EQ(*normalized, expected);
  }
}

TEST(NormalizePhoneNumber, RejectsEverythingElse) {
  for (const char* input :
       {"", "+", "14155552671", "004414155552671", "+1415555267", "+999123456789",
        "+1 415 555 2671 ext 3", "+1415555FLOW", "+1-800-FLOWERS", "+14155552671;ext=1",
        "+14155552671\n", "+1234567890123456789012345678901234", "tel:+14155552671",
        "+44 20 7946 0958 x12", "++14155552671"}) {
    auto normalized = normalize_phone_number(input);
    EXPECT_FALSE(normalized.has_value()) << input;
    if (!normalized) {
      EXPECT_EQ(normalized.error().code, Errc::kInvalidInput);
      EXPECT_EQ(normalized.error().message.find("415"), std::string::npos) << "no echo";
    }
  }
}

TEST(NormalizeEmail, AcceptsReasonableAddressesAndLowerCasesTheDomain) {
  const std::pair<const char*, const char*> cases[] = {
      {"ana@example.com", "ana@example.com"},
      {"Ana.Silva+otp@Mail.Example.CO.UK", "Ana.Silva+otp@mail.example.co.uk"},
      {"x@a-b.io", "x@a-b.io"},
      {"josé@exemplo.com.br", "josé@exemplo.com.br"},
  };
  for (const auto& [input, expected] : cases) {
    auto normalized = normalize_email(input);
    ASSERT_TRUE(normalized.has_value()) << input << ": " << normalized.error().message;
    EXPECT_EQ(*normalized, expected);
  }
}

TEST(NormalizeEmail, RejectsMalformedAddresses) {
  const std::string long_local(65, 'a');
  const std::string long_total = "a@" + std::string(250, 'b') + ".com";
  for (const std::string& input : {std::string(""),
                                   std::string("ana"),
                                   std::string("@example.com"),
                                   std::string("ana@"),
                                   std::string("ana@example"),
                                   std::string("ana@@example.com"),
                                   std::string("ana@x@example.com"),
                                   std::string("ana silva@example.com"),
                                   std::string("ana@exa mple.com"),
                                   std::string("ana\t@example.com"),
                                   std::string("ana@example.com\n"),
                                   std::string("ana@.example.com"),
                                   std::string("ana@example.com."),
                                   std::string("ana@example..com"),
                                   std::string("ana@-example.com"),
                                   std::string("<ana@example.com>"),
                                   std::string("ana,bob@example.com"),
                                   std::string("ana@example.com\x7f"),
                                   std::string("ana@ex\0ample.com", 16),
                                   long_local + "@example.com",
                                   long_total}) {
    EXPECT_FALSE(normalize_email(input).has_value()) << input;
  }
}

TEST(NormalizeRecipient, ChoosesTheRuleByChannel) {
  EXPECT_TRUE(normalize_recipient(messages::Channel::kSms, "+14155552671"));
  EXPECT_TRUE(normalize_recipient(messages::Channel::kWhatsapp, "+14155552671"));
  EXPECT_FALSE(normalize_recipient(messages::Channel::kEmail, "+14155552671"));
  EXPECT_TRUE(normalize_recipient(messages::Channel::kEmail, "ana@example.com"));
  EXPECT_FALSE(normalize_recipient(messages::Channel::kSms, "ana@example.com"));
  EXPECT_FALSE(normalize_recipient(messages::Channel::kWhatsapp, "ana@example.com"));
}

}  // namespace
}  // namespace otp::intake
