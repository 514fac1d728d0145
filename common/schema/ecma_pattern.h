#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

namespace otp::schema {

/// One JSON Schema `pattern`: an ECMAScript regular expression searched for anywhere in a string,
/// exactly as valijson applies it (`std::regex_search` with the default `std::regex::ECMAScript`
/// flags, over the string's UTF-8 bytes: `.` and classes see bytes, not code points).
///
/// `compile` turns the patterns it can parse (literals, `.`, bracket classes with ranges, `\d`
/// `\w` `\s` and their negations, groups, `|`, `^`, `$`, the greedy and lazy quantifiers `*`
/// `+` `?` `{n}` `{n,}` `{n,m}`) into a byte DFA with search semantics, whose `search` is one table
/// step per byte with no allocation. Anything else (back-references, look-around, `\b`, escapes
/// it does not know, an automaton that would grow too large) keeps `std::regex`, so the answer is
/// always std::regex's.
///
/// Immutable after `compile`: `search` may be called from any thread (`std::regex_search` on a
/// const `std::regex` is thread-safe too). Cheap to move.
class EcmaPattern {
 public:
  /// Throws `std::regex_error` if std::regex cannot compile `pattern` (SchemaValidator::load
  /// refuses such schema files before compiling them).
  [[nodiscard]] static EcmaPattern compile(std::string_view pattern);

  EcmaPattern(EcmaPattern&&) noexcept;
  EcmaPattern& operator=(EcmaPattern&&) noexcept;
  ~EcmaPattern();

  /// Whether `pattern` matches somewhere in `text` (std::regex_search's answer).
  [[nodiscard]] bool search(std::string_view text) const;

  /// True when `search` runs the byte DFA, false when it falls back to std::regex.
  [[nodiscard]] bool is_automaton() const noexcept;

 private:
  struct Impl;
  explicit EcmaPattern(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace otp::schema
