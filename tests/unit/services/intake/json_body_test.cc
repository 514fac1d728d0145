#include "services/intake/json_body.h"

#include <gtest/gtest.h>

#include <string>

namespace otp::intake {
namespace {

using nlohmann::json;

TEST(IsValidUtf8, AcceptsWellFormedText) {
  for (const std::string& text :
       {std::string(""), std::string("plain ascii"), std::string("caf\xc3\xa9"),
        std::string("\xe2\x82\xac"), std::string("\xf0\x9f\x94\x91"),
        std::string("\xf4\x8f\xbf\xbf")}) {
    EXPECT_TRUE(is_valid_utf8(text)) << text;
  }
}

TEST(IsValidUtf8, RejectsMalformedText) {
  for (const std::string& text : {std::string("\xff"), std::string("\x80"), std::string("\xc3"),
                                  std::string("\xc0\xaf"),          // overlong '/'
                                  std::string("\xe0\x80\xaf"),      // overlong
                                  std::string("\xed\xa0\x80"),      // surrogate U+D800
                                  std::string("\xf4\x90\x80\x80"),  // past U+10FFFF
                                  std::string("\xe2\x82"),          // truncated
                                  std::string("ok\xc3\x28")}) {     // bad continuation
    EXPECT_FALSE(is_valid_utf8(text));
  }
}

TEST(ParseJsonObject, AcceptsAnObject) {
  auto parsed = parse_json_object(R"({"a": "b", "n": 1})");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ((*parsed)["a"], "b");
}

TEST(ParseJsonObject, RejectsEverythingElseAs400) {
  for (const char* body : {"", " ", "nope", "[]", "null", "true", "1", "\"s\"", "{", "{}x",
                           "{'a': 1}", "{\"a\": 1,}", "{\"a\": 1} // comment"}) {
    auto parsed = parse_json_object(body);
    ASSERT_FALSE(parsed.has_value()) << body;
    EXPECT_EQ(parsed.error().status, 400);
    EXPECT_EQ(parsed.error().code, "invalid_request");
  }
}

TEST(RequiredString, NamesTheFieldAndTheRule) {
  const json object = {{"s", "x"}, {"n", 1}, {"e", ""}, {"z", nullptr}, {"long", "abcdef"}};
  EXPECT_EQ(*required_string(object, "s", 10), "x");
  EXPECT_EQ(required_string(object, "n", 10).error().message, "n must be a string");
  EXPECT_EQ(required_string(object, "e", 10).error().message, "e must not be empty");
  EXPECT_EQ(required_string(object, "z", 10).error().message, "z is required");
  EXPECT_EQ(required_string(object, "missing", 10).error().message, "missing is required");
  EXPECT_EQ(required_string(object, "long", 5).error().message, "long must be at most 5 bytes");
}

TEST(OptionalString, AbsentOrNullIsNothing) {
  const json object = {{"s", "x"}, {"n", 1}, {"z", nullptr}};
  EXPECT_EQ(*optional_string(object, "s", 10), std::optional<std::string>("x"));
  EXPECT_EQ(*optional_string(object, "z", 10), std::nullopt);
  EXPECT_EQ(*optional_string(object, "missing", 10), std::nullopt);
  EXPECT_FALSE(optional_string(object, "n", 10).has_value());
}

}  // namespace
}  // namespace otp::intake
