// Differential test of the compiled fast path: for every file in schemas/ and many documents
// (valid seeds and systematic and seeded random mutations of them), the compiled schema accepts
// exactly what valijson accepts, and SchemaValidator answers byte for byte what it answers with
// valijson alone.

#include "common/schema/compiled_schema.h"
#include "common/schema/schema_validator.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace otp::schema {
namespace {

using json = nlohmann::json;

constexpr char kVid[] = "otp_0123456789abcdef0123456789abcdef";
constexpr char kTime[] = "2026-11-21T21:30:00.123Z";

// Valid documents per schema file: every optional property set, only the required ones, and the
// variants the schema's conditions tell apart.
std::map<std::string, std::vector<json>> make_seeds() {
  const json sealed = {{"key_id", "k1"}, {"data", "c2VhbGVkIGJ5dGVz"}};
  return {
      {"send-request.v1.json",
       {
           {{"schema_version", 1},
            {"request_id", "req-1"},
            {"tenant", "dev"},
            {"verification_id", kVid},
            {"recipient", "+15555550100"},
            {"channel", "sms"},
            {"locale", "en-US"},
            {"requested_at", kTime},
            {"action", "send"},
            {"from", "Acme"},
            {"template", "login"},
            {"app_hash", "FA+9qCX9VSu"},
            {"code_length", 6},
            {"ttl_seconds", 300},
            {"purpose", "login"},
            {"metadata", {{"order", "A-1"}, {"amount", 12.5}, {"vip", true}, {"n", 3}}}},
           {{"schema_version", 1},
            {"request_id", "r"},
            {"tenant", "t"},
            {"channel", "email"},
            {"recipient", "a@example.com"},
            {"requested_at", "2026-11-21T21:30:00Z"}},
           {{"schema_version", 1},
            {"request_id", "req-2"},
            {"tenant", "dev"},
            {"verification_id", kVid},
            {"channel", "whatsapp"},
            {"requested_at", "2026-11-21T21:30:00+00:00"},
            {"action", "resend"}},
           {{"schema_version", 1},
            {"request_id", "req-3"},
            {"tenant", "dev"},
            {"verification_id", kVid},
            {"recipient", ""},
            {"channel", "sms"},
            {"requested_at", kTime},
            {"action", "cancel"},
            {"locale", nullptr},
            {"metadata", nullptr}},
       }},
      {"verify-request.v1.json",
       {
           {{"schema_version", 1},
            {"request_id", "req-2"},
            {"tenant", "dev"},
            {"verification_id", kVid},
            {"otp_code_sealed", sealed},
            {"requested_at", kTime},
            {"respond_by", kTime}},
           {{"schema_version", 1},
            {"request_id", "req-3"},
            {"tenant", "dev"},
            {"verification_id", ""},
            {"recipient", "+15555550100"},
            {"otp_code", "123456"},
            {"otp_code_sealed", nullptr},
            {"requested_at", kTime}},
           {{"schema_version", 1},
            {"request_id", "req-4"},
            {"tenant", "dev"},
            {"verification_id", nullptr},
            {"recipient", nullptr},
            {"otp_code", nullptr},
            {"otp_code_sealed", sealed},
            {"requested_at", kTime}},
       }},
      {"reply.v1.json",
       {
           {{"schema_version", 1},
            {"correlation_id", "corr-1"},
            {"request_id", "req-1"},
            {"kind", "send"},
            {"tenant", "dev"},
            {"verification_id", kVid},
            {"outcome", "rate_limited"},
            {"status", "pending"},
            {"attempts_remaining", 5},
            {"expires_at", kTime},
            {"channel", "sms"},
            {"code_length", 6},
            {"retry_after_seconds", 30},
            {"message", "slow down"},
            {"rate_limit_limit", 5},
            {"rate_limit_remaining", 0},
            {"rate_limit_reset_seconds", 60},
            {"provider", "twilio"},
            {"failures_remaining", 3}},
           {{"schema_version", 1},
            {"correlation_id", "c"},
            {"request_id", "r"},
            {"kind", "verify"},
            {"tenant", "t"},
            {"verification_id", ""},
            {"outcome", "not_found"},
            {"status", "failed"},
            {"channel", nullptr},
            {"expires_at", nullptr}},
       }},
      {"delivery-job.v1.json",
       {
           {{"schema_version", 1},
            {"job_id", std::string(kVid) + ":1"},
            {"tenant", "dev"},
            {"verification_id", kVid},
            {"channel", "email"},
            {"recipient", "someone@example.com"},
            {"sealed_code", sealed},
            {"code_length", 8},
            {"locale", "de"},
            {"expires_at", kTime},
            {"deadline", kTime},
            {"attempt", 2},
            {"from", "Acme"},
            {"template", "t1"},
            {"app_hash", "FA+9qCX9VSu"},
            {"fallback_channels", {"sms", "whatsapp"}},
            {"not_before", kTime},
            {"failed_providers", {"twilio", "vonage"}}},
           {{"schema_version", 1},
            {"job_id", "j"},
            {"tenant", "t"},
            {"verification_id", kVid},
            {"channel", "sms"},
            {"recipient", "+15555550100"},
            {"sealed_code", sealed},
            {"code_length", 4},
            {"expires_at", kTime},
            {"deadline", kTime},
            {"attempt", 0},
            {"not_before", nullptr},
            {"fallback_channels", nullptr}},
       }},
      {"event.v1.json",
       {
           {{"schema_version", 1},
            {"id", "0f1e2d3c-4b5a-8978-8695-a4b3c2d1e0f9"},
            {"type", "verification.created"},
            {"source", "otp-generator"},
            {"time", kTime},
            {"tenant", "dev"},
            {"verification_id", kVid},
            {"data", {{"channel", "sms"}, {"code_length", 6}}}},
           {{"schema_version", 1},
            {"id", "e"},
            {"type", "t"},
            {"source", "s"},
            {"time", kTime},
            {"tenant", "t"},
            {"verification_id", kVid}},
       }},
  };
}

const std::map<std::string, std::vector<json>>& seeds() {
  static const std::map<std::string, std::vector<json>> all = make_seeds();
  return all;
}

std::string repeat(std::string_view unit, std::size_t times) {
  std::string out;
  for (std::size_t i = 0; i < times; ++i) out += unit;
  return out;
}

// Replacement values of every JSON type, for any node.
std::vector<json> type_palette() {
  return {nullptr,
          true,
          false,
          0,
          1,
          -1,
          1.0,
          1.5,
          -0.0,
          1e300,
          json(std::uint64_t{18446744073709551615ULL}),
          json(std::int64_t{-9223372036854775807LL - 1}),
          "",
          "a",
          json::array(),
          json::array({1}),
          json::array({json::array({"sms"})}),
          json::object(),
          {{"key_id", "k1"}, {"data", "x"}},
          {{"key_id", "k 1"}, {"data", "x"}},
          {{"key_id", "k1"}}};
}

// Numbers around the schemas' bounds, for numeric nodes.
std::vector<json> number_palette() {
  return {3,
          4,
          10,
          11,
          29,
          30,
          1000,
          1001,
          86400,
          86401,
          604800,
          604801,
          1000000,
          1000001,
          100000000,
          100000001,
          4.0,
          9.5,
          json(std::int64_t{9223372036854775807LL})};
}

// Strings the schemas' enums, ids and times tell apart, for string nodes.
std::vector<json> string_palette() {
  return {"sms",
          "email",
          "whatsapp",
          "send",
          "resend",
          "cancel",
          "status",
          "verify",
          "pending",
          "ok",
          "failed",
          kVid,
          "otp_0123456789ABCDEF0123456789ABCDEF",
          kTime,
          "2026-11-21T21:30:00.123+01:00",
          "req 1",
          "\xc3\xa9",
          std::string("a\0b", 3),
          "a\n"};
}

// Every replacement value (for the random mutations and the non-object documents).
std::vector<json> value_palette() {
  std::vector<json> out = type_palette();
  for (auto more : {number_palette(), string_palette()})
    out.insert(out.end(), more.begin(), more.end());
  return out;
}

// Strings around every length bound the schemas use, in one-byte and two-byte characters (the
// two-byte ones are twice as long in bytes as in code points).
std::vector<std::string> length_palette() {
  std::vector<std::string> out = {"", "a"};
  for (std::size_t bound : {16, 32, 35, 40, 64, 128, 256, 320, 1024}) {
    out.push_back(std::string(bound, 'a'));
    out.push_back(std::string(bound + 1, 'a'));
    out.push_back(repeat("\xc3\xa9", bound));
    out.push_back(repeat("\xc3\xa9", bound + 1));
  }
  return out;
}

// Edits of a string value: chars a pattern refuses, ends a $ refuses, NUL inside, case.
std::vector<std::string> string_edits(const std::string& s) {
  std::vector<std::string> out = {s + "x",
                                  "x" + s,
                                  s + s,
                                  s + "\n",
                                  s + " ",
                                  s + "/",
                                  s + "\xc3\xa9",
                                  s + "\xe2\x80\xa8",
                                  s + std::string(1, '\0') + "x",
                                  s + "Z"};
  if (!s.empty()) {
    out.push_back(s.substr(0, s.size() - 1));
    out.push_back(s.substr(1));
    std::string upper = s;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    out.push_back(upper);
    for (char c : {' ', '_', '.', '-', ':', '+', 'G'}) {
      std::string edited = s;
      edited[s.size() / 2] = c;
      out.push_back(edited);
    }
  }
  return out;
}

void collect_pointers(const json& value, const json::json_pointer& at,
                      std::vector<json::json_pointer>& out) {
  out.push_back(at);
  if (value.is_object()) {
    for (const auto& [key, child] : value.items()) collect_pointers(child, at / key, out);
  } else if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i) collect_pointers(value[i], at / i, out);
  }
}

std::vector<json::json_pointer> pointers_of(const json& document) {
  std::vector<json::json_pointer> out;
  collect_pointers(document, json::json_pointer(), out);
  return out;
}

// Every single-step mutation of `document`; the string and length palettes only if `thorough`.
void for_each_mutation(const json& document, bool thorough,
                       const std::function<void(const json&)>& visit) {
  static const std::vector<json> types = type_palette();
  static const std::vector<json> numbers = number_palette();
  static const std::vector<json> strings = string_palette();
  static const std::vector<std::string> lengths = length_palette();
  for (const auto& at : pointers_of(document)) {
    const json& node = document.at(at);
    if (!at.empty()) {  // removed
      json copy = document;
      json& parent = copy.at(at.parent_pointer());
      if (parent.is_object()) {
        parent.erase(at.back());
      } else {
        parent.erase(std::stoul(at.back()));
      }
      visit(copy);
    }
    auto replace_with = [&](const std::vector<json>& replacements) {
      for (const auto& value : replacements) {
        json copy = document;
        copy.at(at) = value;
        visit(copy);
      }
    };
    replace_with(types);
    if (node.is_number()) replace_with(numbers);
    if (node.is_string() && thorough) replace_with(strings);
    if (node.is_string()) {
      std::vector<std::string> edits = string_edits(node.get<std::string>());
      if (thorough) edits.insert(edits.end(), lengths.begin(), lengths.end());
      for (const auto& edit : edits) {
        json copy = document;
        copy.at(at) = edit;
        visit(copy);
      }
    }
    if (node.is_object()) {  // extra members
      for (const char* key : {"extra", "", "a b", "\xc3\xa9", "x.y-z_0"}) {
        json copy = document;
        copy.at(at)[key] = 1;
        visit(copy);
      }
      for (std::size_t length : {39, 40, 41}) {
        json copy = document;
        copy.at(at)[std::string(length, 'k')] = "v";
        visit(copy);
      }
      for (std::size_t members : {16, 17}) {
        json copy = document;
        for (std::size_t i = 0; copy.at(at).size() < members; ++i) {
          copy.at(at)["m" + std::to_string(i)] = i;
        }
        visit(copy);
      }
    }
    if (node.is_array()) {  // more and nested items
      for (const json& item : {json("sms"), json("x"), json(1), json::array({"sms"})}) {
        json copy = document;
        copy.at(at).push_back(item);
        visit(copy);
      }
      for (std::size_t items : {3, 4, 16, 17}) {
        json copy = document;
        while (copy.at(at).size() < items) copy.at(at).push_back("p" + std::to_string(items));
        visit(copy);
      }
    }
  }
}

// One random mutation of `document` in place (a node removed, replaced or edited).
void mutate_randomly(json& document, std::mt19937& rng) {
  static const std::vector<json> values = value_palette();
  static const std::vector<std::string> lengths = length_palette();
  const auto at_all = pointers_of(document);
  const auto& at = at_all[std::uniform_int_distribution<std::size_t>(0, at_all.size() - 1)(rng)];
  json& node = document.at(at);
  switch (std::uniform_int_distribution<int>(0, 4)(rng)) {
    case 0:
      if (!at.empty()) {
        json& parent = document.at(at.parent_pointer());
        if (parent.is_object()) {
          parent.erase(at.back());
        } else {
          parent.erase(std::stoul(at.back()));
        }
      }
      return;
    case 1:
      node = values[std::uniform_int_distribution<std::size_t>(0, values.size() - 1)(rng)];
      return;
    case 2:
      if (node.is_string()) {
        const auto edits = string_edits(node.get<std::string>());
        node = edits[std::uniform_int_distribution<std::size_t>(0, edits.size() - 1)(rng)];
      } else if (node.is_object()) {
        node["r" + std::to_string(rng() % 20)] = values[rng() % values.size()];
      } else if (node.is_array()) {
        node.push_back(values[rng() % values.size()]);
      }
      return;
    case 3:
      if (node.is_string()) node = lengths[rng() % lengths.size()];
      return;
    default:  // the same value re-typed: integers as floats, numbers as strings
      if (node.is_number_integer()) {
        node = node.get<double>();
      } else if (node.is_number()) {
        node = node.dump();
      } else if (node.is_string()) {
        node = json::array({node});
      }
      return;
  }
}

const SchemaValidator& reference() {  // valijson alone
  static const SchemaValidator validator = [] {
    auto loaded = SchemaValidator::load(OTP_TEST_SCHEMA_DIR, {.compile = false});
    if (!loaded) std::abort();
    return std::move(*loaded);
  }();
  return validator;
}

const SchemaValidator& fast() {
  static const SchemaValidator validator = [] {
    auto loaded = SchemaValidator::load(OTP_TEST_SCHEMA_DIR);
    if (!loaded) std::abort();
    return std::move(*loaded);
  }();
  return validator;
}

CompiledSchema compiled(const std::string& name) {
  std::ifstream in(std::filesystem::path(OTP_TEST_SCHEMA_DIR) / name);
  std::stringstream text;
  text << in.rdbuf();
  auto schema = CompiledSchema::compile(json::parse(text.str()));
  if (!schema) {
    ADD_FAILURE() << name << ": " << schema.error().message;
    std::abort();
  }
  return std::move(*schema);
}

struct Tally {
  int accepted = 0;
  int rejected = 0;
  int checked = 0;
};

// Compares the compiled verdict with valijson's and, for every eighth document (valijson is slow
// under ASan), the fast validator's full answer (document or message) with the valijson-only
// one, for `document` as JSON text.
void check(const std::string& name, const CompiledSchema& schema, const json& document,
           Tally& tally) {
  // Edits may cut a UTF-8 sequence in two: write U+FFFD for it, as a producer would have to.
  const std::string text = document.dump(-1, ' ', false, json::error_handler_t::replace);
  const json parsed = json::parse(text);
  auto expected = reference().parse_valid(name, text);
  const bool accepted = schema.accepts(parsed);
  EXPECT_EQ(accepted, expected.has_value())
      << name << ": compiled " << (accepted ? "accepts" : "rejects") << " " << text
      << (expected ? "" : " (" + expected.error().message + ")");
  ++(expected ? tally.accepted : tally.rejected);
  if (tally.checked++ % 8 != 0) return;
  auto actual = fast().parse_valid(name, text);
  ASSERT_EQ(actual.has_value(), expected.has_value()) << name << ": " << text;
  if (expected) {
    EXPECT_EQ(*actual, *expected);
  } else {
    EXPECT_EQ(actual.error().message, expected.error().message) << text;
    EXPECT_EQ(actual.error().code, expected.error().code);
  }
}

class SchemaDifferential : public ::testing::TestWithParam<std::string> {};

TEST_P(SchemaDifferential, SeedsAreValid) {
  for (const auto& seed : seeds().at(GetParam())) {
    auto valid = reference().validate(GetParam(), seed.dump());
    EXPECT_TRUE(valid) << seed.dump() << ": " << valid.error().message;
    EXPECT_TRUE(compiled(GetParam()).accepts(seed)) << seed.dump();
  }
}

TEST_P(SchemaDifferential, EverySingleMutationAgreesWithValijson) {
  const CompiledSchema schema = compiled(GetParam());
  Tally tally;
  const auto& all = seeds().at(GetParam());
  for (std::size_t i = 0; i < all.size(); ++i) {
    // The first seed sets every property: it alone gets the string and length palettes.
    for_each_mutation(all[i], i == 0,
                      [&](const json& document) { check(GetParam(), schema, document, tally); });
  }
  // Both verdicts must be well represented for the comparison to mean something.
  EXPECT_GT(tally.accepted, 200) << "rejected " << tally.rejected;
  EXPECT_GT(tally.rejected, 200) << "accepted " << tally.accepted;
}

TEST_P(SchemaDifferential, SeededRandomMutationsAgreeWithValijson) {
  const CompiledSchema schema = compiled(GetParam());
  std::mt19937 rng(std::hash<std::string>{}(GetParam()) ^ 20261122U);
  Tally tally;
  for (const auto& seed : seeds().at(GetParam())) {
    for (int round = 0; round < 250; ++round) {
      json document = seed;
      const int steps = std::uniform_int_distribution<int>(1, 3)(rng);
      for (int i = 0; i < steps; ++i) mutate_randomly(document, rng);
      check(GetParam(), schema, document, tally);
    }
  }
  EXPECT_GT(tally.accepted, 50) << "rejected " << tally.rejected;
  EXPECT_GT(tally.rejected, 50) << "accepted " << tally.accepted;
}

TEST_P(SchemaDifferential, DocumentsThatAreNotObjects) {
  const CompiledSchema schema = compiled(GetParam());
  Tally tally;
  for (const auto& value : value_palette()) check(GetParam(), schema, value, tally);
  EXPECT_EQ(tally.accepted, 0);
}

std::string test_name(const ::testing::TestParamInfo<std::string>& param) {
  std::string name = param.param.substr(0, param.param.find('.'));
  std::erase(name, '-');
  return name;
}

INSTANTIATE_TEST_SUITE_P(Repository, SchemaDifferential,
                         ::testing::Values("delivery-job.v1.json", "event.v1.json", "reply.v1.json",
                                           "send-request.v1.json", "verify-request.v1.json"),
                         test_name);

}  // namespace
}  // namespace otp::schema
