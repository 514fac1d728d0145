#include "common/schema/ecma_pattern.h"

#include <gtest/gtest.h>

#include <random>
#include <regex>
#include <string>
#include <vector>

namespace otp::schema {
namespace {

// The patterns of schemas/*.json.
const std::vector<std::string> kSchemaPatterns = {
    "^[A-Za-z0-9._:-]+$",
    "^otp_[0-9a-f]{32}$",
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|\\+00:00)$",
    "^[A-Za-z0-9_.-]+$",
};

// Everything else the DFA takes on, each against std::regex.
const std::vector<std::string> kOtherPatterns = {
    "",
    "a",
    "abc",
    "^",
    "$",
    "^$",
    "$^",
    "a$",
    "^a",
    "a|b|",
    "(a|ab)(c|bcd)(d*)",
    "^(?:ab|a)+$",
    "a*",
    "a+?b",
    "^a{2,}$",
    "^a{0,3}b{2}$",
    "^(a{1,2}){2}$",
    "x(a|b)*?y",
    "^[^a-c]+$",
    "[-a]",
    "[a-]",
    "[\\-\\]\\\\]",
    "^[\\d\\w]+$",
    "[\\s]",
    "\\d\\D\\w\\W\\s\\S",
    "^.+$",
    "^.*$",
    "a.c",
    "\\.\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\^\\$\\/",
    "\\t\\n\\r\\f\\v",
    "^(a|)$",
    "()",
    "^(|x)(y|)$",
    "^\xc3\xa9+$",       // é+: the quantifier takes the second byte only
    "[\xc3\xa9]",        // two bytes as two members
    "^[^\xc3]+$",        // a byte above 0x7f in a negated class
    "(^a|b$)",           // anchors inside alternatives
    "a^b",               // never matches
    "^(a$|b)",           //
    "^a+$|^b+$",         //
    "[a-zA-Z]{3,5}\\d",  //
};

// Patterns the parser leaves to std::regex.
const std::vector<std::string> kFallbackPatterns = {
    "\\bword\\b", "(a)\\1", "a(?=b)",    "a(?!b)", "[[:alpha:]]", "\\x41",       "\\u0041",
    "[]",         "[^]",    "a{2,1001}", "\\0",    "\\cJ",        "[\xc3-\xc5]", "\\B",
};

std::vector<std::string> corpus() {
  std::vector<std::string> out = {
      "",
      "a",
      "b",
      "ab",
      "abc",
      "abcd",
      "aab",
      "xaby",
      "xy",
      "aa",
      "aaa",
      "aaaa",
      "aab",
      "abb",
      "bb",
      "d",
      "0",
      "a0",
      "abc1",
      "ABCD9",
      "word",
      "a word here",
      "\n",
      "a\n",
      "\na",
      "a\r",
      "a\nb",
      "a\rb",
      std::string("a\0b", 3),
      std::string(1, '\0'),
      "\t\n\r\f\v",
      ".*+?()[]{}|^$/",
      "\xc3\xa9",
      "\xc3\xa9\xc3\xa9",
      "\xc3\xa9\xa9",
      "\xe2\x80\xa8",
      "\xff",
      "otp_0123456789abcdef0123456789abcdef",
      "otp_0123456789abcdef0123456789abcdeF",
      "otp_0123456789abcdef0123456789abcdef0",
      "xotp_0123456789abcdef0123456789abcdef",
      "otp_0123456789abcdef0123456789abcdef\n",
      "2026-11-21T21:30:00.123Z",
      "2026-11-21T21:30:00Z",
      "2026-11-21T21:30:00+00:00",
      "2026-11-21T21:30:00.Z",
      "2026-11-21T21:30:00.123+01:00",
      "2026-11-21T21:30:00.123Z\n",
      "2026-11-21 21:30:00Z",
      "dev",
      "req-1.a_b:c",
      "req 1",
      "req/1",
      "-",
      "signup.v2",
  };
  // Seeded random strings over the bytes the patterns care about.
  const std::string alphabet = std::string("abcdxyzAZ09_.-:+/ T\n\r\t\xc3\xa9\xff") + '\0';
  std::mt19937 rng(20261122);
  for (int i = 0; i < 400; ++i) {
    std::string s;
    const auto length = std::uniform_int_distribution<int>(0, 12)(rng);
    for (int j = 0; j < length; ++j) {
      s += alphabet[std::uniform_int_distribution<std::size_t>(0, alphabet.size() - 1)(rng)];
    }
    out.push_back(s);
  }
  return out;
}

void expect_same_as_std_regex(const std::string& pattern) {
  const std::regex reference(pattern);
  const EcmaPattern compiled = EcmaPattern::compile(pattern);
  for (const auto& text : corpus()) {
    EXPECT_EQ(compiled.search(text), std::regex_search(text, reference))
        << "pattern '" << pattern << "' text '" << text << "' (" << text.size() << " bytes)";
  }
}

TEST(EcmaPattern, SchemaPatternsRunAsAutomataAndAgreeWithStdRegex) {
  for (const auto& pattern : kSchemaPatterns) {
    EXPECT_TRUE(EcmaPattern::compile(pattern).is_automaton()) << pattern;
    expect_same_as_std_regex(pattern);
  }
}

TEST(EcmaPattern, OtherSupportedPatternsRunAsAutomataAndAgreeWithStdRegex) {
  for (const auto& pattern : kOtherPatterns) {
    EXPECT_TRUE(EcmaPattern::compile(pattern).is_automaton()) << pattern;
    expect_same_as_std_regex(pattern);
  }
}

TEST(EcmaPattern, UnsupportedSyntaxFallsBackToStdRegexWithItsAnswers) {
  for (const auto& pattern : kFallbackPatterns) {
    EXPECT_FALSE(EcmaPattern::compile(pattern).is_automaton()) << pattern;
    expect_same_as_std_regex(pattern);
  }
}

TEST(EcmaPattern, SearchesRatherThanMatchesTheWholeString) {
  const auto pattern = EcmaPattern::compile("[0-9]{3}");
  EXPECT_TRUE(pattern.search("abc123def"));
  EXPECT_FALSE(pattern.search("ab12c3"));
}

TEST(EcmaPattern, DollarMatchesOnlyAtTheVeryEndNotBeforeATrailingNewline) {
  const auto pattern = EcmaPattern::compile("^[a-z]+$");
  EXPECT_TRUE(pattern.search("dev"));
  EXPECT_FALSE(pattern.search("dev\n"));
  EXPECT_FALSE(pattern.search("a\nb"));
}

TEST(EcmaPattern, SeesBytesNotCodePoints) {
  // "é" is two bytes: one `.` does not cover it, two do.
  EXPECT_FALSE(EcmaPattern::compile("^.$").search("\xc3\xa9"));
  EXPECT_TRUE(EcmaPattern::compile("^..$").search("\xc3\xa9"));
}

TEST(EcmaPattern, RefusesWhatStdRegexRefuses) {
  EXPECT_THROW(static_cast<void>(EcmaPattern::compile("(")), std::regex_error);
  EXPECT_THROW(static_cast<void>(EcmaPattern::compile("[b-a]")), std::regex_error);
}

TEST(EcmaPattern, LongInputsNeedNoStack) {
  // std::regex recurses per repetition; the DFA is a loop.
  const auto pattern = EcmaPattern::compile("^[A-Za-z0-9._:-]+$");
  EXPECT_TRUE(pattern.search(std::string(1'000'000, 'a')));
  EXPECT_FALSE(pattern.search(std::string(1'000'000, 'a') + " "));
}

}  // namespace
}  // namespace otp::schema
