#include "services/intake/api_response.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace otp::intake {
namespace {

std::string nlohmann_dump(const nlohmann::ordered_json& body) {
  return body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

TEST(JsonObjectText, SameBytesAsNlohmannForEveryKindOfString) {
  const std::vector<std::string> values = {
      "",
      "otp_0123456789abcdef0123456789abcdef",
      "+141******71",
      "quote \" backslash \\ slash /",
      "\b\f\n\r\t",
      std::string("nul \0 unit \x1f del \x7f", sizeof "nul \0 unit \x1f del \x7f" - 1),
      "ação 中文 🙂",
      "bad \xff\xfe utf-8 \xc3",
      "overlong \xc0\xaf",
  };
  for (const auto& value : values) {
    const auto text = JsonObjectText().add("v", value).finish();
    EXPECT_EQ(text, nlohmann_dump({{"v", value}})) << value;
  }
}

TEST(JsonObjectText, FieldsInOrderWithBooleansAndIntegers) {
  JsonObjectText writer;
  writer.add("success", true)
      .add("verification_id", "otp_x")
      .add("ok", false)
      .add("attempts_remaining", 5)
      .add("big", std::int64_t{-9'007'199'254'740'993});
  const auto text = writer.finish();
  EXPECT_EQ(text, nlohmann_dump({{"success", true},
                                 {"verification_id", "otp_x"},
                                 {"ok", false},
                                 {"attempts_remaining", 5},
                                 {"big", std::int64_t{-9'007'199'254'740'993}}}));
  EXPECT_EQ(writer.finish(), "{}");  // empty again
}

TEST(JsonObjectText, ResponseHasTheJsonHeaders) {
  const auto response = json_text_response(202, JsonObjectText().add("a", 1).finish());
  EXPECT_EQ(response.status, 202);
  EXPECT_EQ(response.body, R"({"a":1})");
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  EXPECT_EQ(response.header("Cache-Control"), "no-store");
}

}  // namespace
}  // namespace otp::intake
