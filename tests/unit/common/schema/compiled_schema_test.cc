#include "common/schema/compiled_schema.h"

#include "common/schema/schema_validator.h"
#include "tests/unit/common/schema/valijson_reference.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

namespace otp::schema {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;

struct Case {
  const char* document;  // JSON text, so that 1 and 1.0 stay apart
  bool valid;
};

// Asserts valijson's verdict (so the expectation is today's behaviour) and the compiled one.
void expect_verdicts(const char* schema_text, const std::vector<Case>& cases) {
  const json schema = json::parse(schema_text);
  auto compiled = CompiledSchema::compile(schema);
  ASSERT_TRUE(compiled) << compiled.error().message;
  for (const auto& c : cases) {
    const json document = json::parse(c.document);
    EXPECT_EQ(testing::valijson_accepts(schema, document), c.valid)
        << "valijson, " << schema_text << " on " << c.document;
    EXPECT_EQ(compiled->accepts(document), c.valid)
        << "compiled, " << schema_text << " on " << c.document;
  }
}

TEST(CompiledSchema, IntegerTypeIsAnIntegerTokenOnly) {
  expect_verdicts(R"({"type": "integer"})", {{"1", true},
                                             {"-1", true},
                                             {"18446744073709551615", true},
                                             {"1.0", false},
                                             {"1e2", false},
                                             {"\"1\"", false},
                                             {"null", false}});
}

TEST(CompiledSchema, TypeListsAndNumber) {
  expect_verdicts(R"({"type": ["number", "null"]})", {{"1", true},
                                                      {"1.5", true},
                                                      {"null", true},
                                                      {"\"x\"", false},
                                                      {"true", false},
                                                      {"[]", false},
                                                      {"{}", false}});
  expect_verdicts(R"({"type": ["array", "object", "boolean", "string"]})",
                  {{"[]", true}, {"{}", true}, {"false", true}, {"\"\"", true}, {"0", false}});
}

TEST(CompiledSchema, ConstComparesNumbersAsDoubles) {
  expect_verdicts(R"({"const": 1})", {{"1", true},
                                      {"1.0", true},
                                      {"true", false},
                                      {"\"1\"", false},
                                      {"2", false},
                                      {"[1]", false}});
  expect_verdicts(R"({"const": ""})", {{"\"\"", true}, {"null", false}, {"\" \"", false}});
}

TEST(CompiledSchema, EnumComparesDeeply) {
  expect_verdicts(R"({"enum": ["a", null, [1, {"b": 2}], {"c": [true]}]})",
                  {{"\"a\"", true},
                   {"null", true},
                   {R"([1, {"b": 2}])", true},
                   {R"([1.0, {"b": 2.0}])", true},
                   {R"([1, {"b": 2, "x": 1}])", false},
                   {R"([{"b": 2}, 1])", false},
                   {R"({"c": [true]})", true},
                   {R"({"c": [1]})", false},
                   {R"({"d": [true]})", false},
                   {"\"b\"", false},
                   {"[]", false},
                   {"false", false}});
  expect_verdicts(R"({"enum": []})", {{"null", false}, {"\"a\"", false}});
}

TEST(CompiledSchema, LengthsCountCodePointsUpToTheFirstNul) {
  expect_verdicts(R"({"type": "string", "minLength": 2, "maxLength": 3})",
                  {{R"("ab")", true},
                   {R"("abcd")", false},
                   {R"("a")", false},
                   {R"("\u00e9\u00e9")", true},                          // 4 bytes, 2 code points
                   {R"("\u00e9\u00e9\u00e9\u00e9")", false},             // 8 bytes, 4 code points
                   {R"("\ud83d\ude00\ud83d\ude00\ud83d\ude00")", true},  // 12 bytes, 3
                   {R"("a\u0000bcdef")", false},                         // counts 1
                   {R"("ab\u0000cdefgh")", true},                        // counts 2
                   {"5", false}});
  expect_verdicts(R"({"maxLength": 1})",
                  {{"12345", true}, {R"("\u20ac")", true}, {R"("ab")", false}});
}

TEST(CompiledSchema, PatternSearchesStringsOnly) {
  expect_verdicts(
      R"({"pattern": "^a+$"})",
      {{R"("aaa")", true}, {R"("ab")", false}, {R"("a\n")", false}, {"5", true}, {"null", true}});
  expect_verdicts(R"({"pattern": "b"})", {{R"("abc")", true}, {R"("ac")", false}});
}

TEST(CompiledSchema, NumericBoundsCompareAsDoubles) {
  expect_verdicts(R"({"minimum": 4, "maximum": 10})", {{"4", true},
                                                       {"10", true},
                                                       {"10.0", true},
                                                       {"3", false},
                                                       {"11", false},
                                                       {"10.5", false},
                                                       {"3.999", false},
                                                       {R"("20")", true},
                                                       {"null", true}});
  expect_verdicts(R"({"exclusiveMinimum": 0, "exclusiveMaximum": 1.5})",
                  {{"0", false}, {"0.5", true}, {"1", true}, {"1.5", false}, {"-1", false}});
  // valijson reads integers through int64_t: 2^64 - 1 becomes -1 (and so passes a maximum).
  expect_verdicts(R"({"maximum": 10})", {{"18446744073709551615", true}, {"1e300", false}});
  expect_verdicts(R"({"minimum": 0})",
                  {{"18446744073709551615", false}, {"9223372036854775807", true}});
}

TEST(CompiledSchema, PropertiesRequiredAndForbiddenAdditionalProperties) {
  expect_verdicts(
      R"({"required": ["a"], "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
          "additionalProperties": false})",
      {{R"({"a": "x"})", true},
       {R"({"a": "x", "b": 1})", true},
       {R"({"a": "x", "c": 1})", false},
       {R"({"a": "x", "": 1})", false},
       {R"({"b": 1})", false},
       {R"({"a": 1})", false},
       {R"({"a": "x", "b": 1.0})", false},
       {"[]", true},
       {R"("s")", true}});
}

TEST(CompiledSchema, RequiredOutsidePropertiesAndAdditionalPropertiesSchema) {
  expect_verdicts(
      R"({"required": ["z", "a"], "properties": {"a": {"type": "string"}},
          "additionalProperties": {"type": "boolean"}})",
      {{R"({"a": "x", "z": true})", true},
       {R"({"a": "x", "z": 1})", false},
       {R"({"a": "x", "z": false, "y": true, "0": false})", true},
       {R"({"a": "x"})", false},
       {R"({"z": true})", false}});
}

TEST(CompiledSchema, PropertyNamesAndPropertyCounts) {
  expect_verdicts(
      R"({"minProperties": 1, "maxProperties": 2,
          "propertyNames": {"maxLength": 3, "pattern": "^[a-z]+$", "enum": ["ab", "abc", "x"]}})",
      {{R"({"ab": 1})", true},
       {R"({"ab": 1, "x": [2]})", true},
       {"{}", false},
       {R"({"ab": 1, "x": 2, "abc": 3})", false},
       {R"({"abcd": 1})", false},
       {R"({"AB": 1})", false},
       {R"({"y": 1})", false},
       {"[1, 2, 3]", true}});
  // A property name is a string and nothing else.
  expect_verdicts(R"({"propertyNames": {"type": "integer"}})",
                  {{"{}", true}, {R"({"1": 1})", false}});
  expect_verdicts(R"({"propertyNames": {"type": "string", "minimum": 5, "const": "k"}})",
                  {{R"({"k": 1})", true}, {R"({"j": 1})", false}});
  expect_verdicts(R"({"propertyNames": false})", {{"{}", true}, {R"({"a": 1})", false}});
}

TEST(CompiledSchema, ItemsAndArrayCounts) {
  expect_verdicts(
      R"({"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3})",
      {{"[1]", true},
       {"[1, 2, 3]", true},
       {"[]", false},
       {"[1, 2, 3, 4]", false},
       {R"([1, "a"])", false},
       {"[1, 1.0]", false},
       {"[[1]]", false},
       {"{}", false}});
  expect_verdicts(
      R"({"items": {"enum": ["sms", "email"]}})",
      {{R"(["sms", "email", "sms"])", true}, {R"(["fax"])", false}, {R"("fax")", true}});
}

TEST(CompiledSchema, UniqueItemsUsesStrictEquality) {
  expect_verdicts(R"({"uniqueItems": true})", {{"[1, 2]", true},
                                               {"[1, 1.0]", false},
                                               {"[[1], [1.0]]", false},
                                               {R"([{"a": 1}, {"a": 2}])", true},
                                               {R"([{"a": 1}, {"a": 1}])", false},
                                               {R"(["a", "b", "a"])", false},
                                               {"[true, 1]", true},
                                               {"[]", true}});
  expect_verdicts(R"({"uniqueItems": false})", {{"[1, 1]", true}});
}

TEST(CompiledSchema, OneOfCountsExactlyOne) {
  // minimum ignores what is not a number, so a string passes the second branch only.
  expect_verdicts(R"({"oneOf": [{"type": "integer"}, {"minimum": 0}]})",
                  {{"1", false}, {"-1", true}, {"1.5", true}, {"-1.5", false}, {R"("a")", true}});
}

TEST(CompiledSchema, AnyOfAllOfNot) {
  expect_verdicts(
      R"({"anyOf": [{"type": "string"}, {"type": "null"}], "allOf": [{"maxLength": 2}],
                      "not": {"const": "no"}})",
      {{R"("ab")", true}, {"null", true}, {R"("abc")", false}, {R"("no")", false}, {"1", false}});
}

TEST(CompiledSchema, IfThenElse) {
  const char* schema = R"({"if": {"properties": {"k": {"const": "x"}}, "required": ["k"]},
                           "then": {"required": ["a"]}, "else": {"required": ["b"]}})";
  expect_verdicts(schema, {{R"({"k": "x", "a": 1})", true},
                           {R"({"k": "x", "b": 1})", false},
                           {R"({"k": "y", "b": 1})", true},
                           {R"({"b": 1})", true},
                           {R"({"a": 1})", false},
                           {"5", true}});
  // then/else without if do nothing.
  expect_verdicts(R"({"then": false, "else": false})", {{"1", true}});
  expect_verdicts(R"({"if": {"type": "string"}, "then": {"minLength": 2}})",
                  {{R"("ab")", true}, {R"("a")", false}, {"1", true}});
}

TEST(CompiledSchema, LocalReferencesIgnoreTheirSiblingsAndMayRecurse) {
  const char* schema = R"({
    "$defs": {
      "id": {"type": "string", "maxLength": 2},
      "node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/node"},
                                                "id": {"$ref": "#/$defs/id"}}},
      "alias": {"$ref": "#/$defs/id"}
    },
    "properties": {"x": {"$ref": "#/$defs/alias", "type": "integer", "maxLength": 100},
                   "tree": {"$ref": "#/$defs/node"},
                   "self": {"$ref": "#"}}
  })";
  expect_verdicts(schema, {{R"({"x": "ab"})", true},
                           {R"({"x": "abc"})", false},
                           {R"({"x": 1})", false},
                           {R"({"tree": {"next": {"next": {"id": "ab"}}}})", true},
                           {R"({"tree": {"next": {"next": {"id": "abc"}}}})", false},
                           {R"({"tree": {"next": 5}})", false},
                           {R"({"self": {"self": {"x": "abc"}}})", false},
                           {R"({"self": {"self": {"x": "a"}}})", true}});
}

TEST(CompiledSchema, BooleanSchemas) {
  expect_verdicts(R"({"properties": {"never": false, "any": true}})",
                  {{R"({"any": [1]})", true}, {R"({"never": null})", false}, {"{}", true}});
  expect_verdicts("false", {{"{}", false}, {"1", false}});
  expect_verdicts("true", {{"{}", true}});
}

TEST(CompiledSchema, AnnotationsAndUnknownKeywordsAreIgnoredAsValijsonDoes) {
  expect_verdicts(R"({"title": "t", "description": "d", "examples": [1], "default": "x",
                      "$comment": "c", "$id": "urn:x", "x-custom": {"type": "string"},
                      "additionalItems": false, "type": "integer"})",
                  {{"1", true}, {R"("a")", false}});
}

TEST(CompiledSchema, KeywordsItDoesNotCompileAreNamed) {
  for (const auto& [schema, pointer] : std::vector<std::pair<const char*, const char*>>{
           {R"({"format": "date"})", "/format"},
           {R"({"patternProperties": {"^a": {}}})", "/patternProperties"},
           {R"({"items": [{}, {}]})", "/items"},
           {R"({"properties": {"a": {"contains": {}}}})", "/properties/a/contains"},
           {R"({"multipleOf": 2})", "/multipleOf"},
           {R"({"dependencies": {"a": ["b"]}})", "/dependencies"},
           {R"({"$ref": "other.json#/a"})", "/$ref"},
           {R"({"maxLength": -1})", "/maxLength"},
           {R"({"type": "text"})", "/type"}}) {
    auto compiled = CompiledSchema::compile(json::parse(schema));
    ASSERT_FALSE(compiled) << schema;
    EXPECT_THAT(compiled.error().message, HasSubstr(pointer)) << schema;
  }
}

/// A fresh directory holding one schema file with `text`.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& text) {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("otp-compiled-schema-test-" + std::to_string(::getpid()) + "-" +
             std::to_string(++counter));
    std::filesystem::create_directories(path_);
    std::ofstream(path_ / "thing.v1.json") << text;
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

TEST(SchemaValidatorFastPath, EverySchemaOfTheRepositoryIsCompiled) {
  auto schemas = SchemaValidator::load(OTP_TEST_SCHEMA_DIR);
  ASSERT_TRUE(schemas) << schemas.error().message;
  EXPECT_EQ(schemas->compiled_schema_names(),
            (std::vector<std::string>{"delivery-job.v1.json", "event.v1.json", "reply.v1.json",
                                      "send-request.v1.json", "verify-request.v1.json"}));
  EXPECT_EQ(schemas->compiled_schema_names(), schemas->schema_names());
}

TEST(SchemaValidatorFastPath, CompilationCanBeTurnedOff) {
  auto schemas = SchemaValidator::load(OTP_TEST_SCHEMA_DIR, {.compile = false});
  ASSERT_TRUE(schemas) << schemas.error().message;
  EXPECT_TRUE(schemas->compiled_schema_names().empty());
  EXPECT_FALSE(schemas->schema_names().empty());
}

TEST(SchemaValidatorFastPath, AFileWithAKeywordNotCompiledKeepsValijson) {
  ScratchDir dir(R"({"$schema": "http://json-schema.org/draft-07/schema#",
                     "type": "object", "required": ["day"],
                     "properties": {"day": {"type": "string", "format": "date"}}})");
  auto schemas = SchemaValidator::load(dir.path());
  ASSERT_TRUE(schemas) << schemas.error().message;
  EXPECT_TRUE(schemas->compiled_schema_names().empty());
  EXPECT_TRUE(schemas->validate("thing.v1.json", R"({"day": "2026-11-22"})"));
  auto invalid = schemas->validate("thing.v1.json", R"({"day": "2026-13-45"})");
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().message, "thing.v1.json: /day: String should be a valid date");
}

TEST(SchemaValidatorFastPath, RejectionsCarryValijsonsMessage) {
  ScratchDir dir(R"({"$schema": "http://json-schema.org/draft-07/schema#",
                     "type": "object", "required": ["id"],
                     "properties": {"id": {"type": "string", "pattern": "^[a-z]+$"}}})");
  auto schemas = SchemaValidator::load(dir.path());
  ASSERT_TRUE(schemas) << schemas.error().message;
  EXPECT_EQ(schemas->compiled_schema_names(), std::vector<std::string>{"thing.v1.json"});
  auto parsed = schemas->parse_valid("thing.v1.json", R"({"id": "abc"})");
  ASSERT_TRUE(parsed);
  EXPECT_EQ((*parsed)["id"], "abc");
  auto invalid = schemas->validate("thing.v1.json", R"({"id": "ABC"})");
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().message,
            "thing.v1.json: /id: Failed to match regex specified by 'pattern' constraint.");
  auto missing = schemas->validate("thing.v1.json", "{}");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "thing.v1.json: /id: Missing required property 'id'.");
}

std::string send_request_with(const std::string& field, const std::string& value) {
  json payload = {{"schema_version", 1},
                  {"request_id", "r"},
                  {"tenant", "dev"},
                  {"channel", "sms"},
                  {"recipient", "+15555550100"},
                  {"requested_at", "2026-11-21T21:30:00Z"},
                  {"metadata", {{"order", "A-1"}}}};
  json::json_pointer at(field);
  payload[at] = value;
  return payload.dump();
}

TEST(SchemaValidatorFastPath, AHugeStringUnderAPatternIsRefusedWithoutReachingStdRegex) {
  auto schemas = SchemaValidator::load(OTP_TEST_SCHEMA_DIR);
  ASSERT_TRUE(schemas) << schemas.error().message;
  // valijson alone overflows the stack on these (std::regex recurses per character).
  for (const char* field : {"/tenant", "/request_id", "/purpose"}) {
    auto invalid = schemas->validate("send-request.v1.json",
                                     send_request_with(field, std::string(200'000, 'a')));
    ASSERT_FALSE(invalid) << field;
    EXPECT_EQ(invalid.error().code, Errc::kInvalidInput);
    EXPECT_EQ(invalid.error().message,
              std::string("send-request.v1.json: ") + field +
                  ": String longer than 4096 bytes is not matched against the 'pattern' "
                  "constraint.");
  }
  // A metadata key is matched too (propertyNames).
  json payload = json::parse(send_request_with("/tenant", "dev"));
  payload["metadata"][std::string(5000, 'k')] = 1;
  auto key = schemas->validate("send-request.v1.json", payload.dump());
  ASSERT_FALSE(key);
  EXPECT_THAT(key.error().message, HasSubstr(": String longer than 4096 bytes"));
  // At the limit, and where no pattern applies, valijson words the rejection as before.
  auto at_limit = schemas->validate("send-request.v1.json",
                                    send_request_with("/tenant", std::string(4096, 'a')));
  ASSERT_FALSE(at_limit);
  EXPECT_EQ(
      at_limit.error().message,
      "send-request.v1.json: /tenant: String should be no more than 128 characters in length.");
  auto long_recipient = schemas->validate(
      "send-request.v1.json", send_request_with("/recipient", std::string(100'000, '1')));
  ASSERT_FALSE(long_recipient);
  EXPECT_EQ(long_recipient.error().message,
            "send-request.v1.json: /recipient: String should be no more than 320 characters in "
            "length.");
}

TEST(SchemaValidatorFastPath, AHugeStringWithoutAPatternInAValidDocumentIsAccepted) {
  auto schemas = SchemaValidator::load(OTP_TEST_SCHEMA_DIR);
  ASSERT_TRUE(schemas) << schemas.error().message;
  const json event = {{"schema_version", 1},
                      {"id", "e"},
                      {"type", "t"},
                      {"source", "s"},
                      {"time", "2026-11-21T21:30:00Z"},
                      {"tenant", "t"},
                      {"verification_id", "otp_0123456789abcdef0123456789abcdef"},
                      {"data", {{"note", std::string(1'000'000, 'a')}}}};
  EXPECT_TRUE(schemas->validate("event.v1.json", event.dump()));
}

}  // namespace
}  // namespace otp::schema
