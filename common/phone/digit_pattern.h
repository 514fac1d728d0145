#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace otp::phone {

/// A regular expression over the ASCII digits, compiled once into a deterministic automaton, for
/// the patterns of libphonenumber's metadata (national number patterns, leading digits, national
/// prefixes for parsing).
///
/// The supported syntax is the subset that metadata uses: digits, `\d`, classes such as `[13-79]`
/// and `[^0]`, groups `(...)` and `(?:...)`, `|`, the quantifiers `?`, `*`, `+`, `{n}`, `{n,}`,
/// `{n,m}` (a trailing `?` for laziness is accepted: it changes which match an engine reports,
/// never whether one exists), and `$`. Anything else makes `compile` return nullopt, and the caller
/// falls back to libphonenumber. Because the patterns have no back-references, look-arounds or
/// possessive quantifiers, whether a string (or a prefix of it) matches depends only on the
/// language the pattern denotes, so the automaton answers exactly as ICU's backtracking matcher.
///
/// Immutable after construction: safe to share between threads.
class DigitPattern {
 public:
  /// nullopt when the pattern uses syntax outside the subset above, or when its automaton would
  /// need more than `max_states` states.
  [[nodiscard]] static std::optional<DigitPattern> compile(std::string_view pattern,
                                                           std::size_t max_states = 20000);

  /// The whole of `digits` matches (libphonenumber's `FullMatch`). False for any non-digit.
  [[nodiscard]] bool full_match(std::string_view digits) const noexcept;

  /// Some prefix of `digits` matches, the empty prefix included only when `allow_empty`
  /// (libphonenumber's `Consume`, which is anchored at the start). False past any non-digit.
  [[nodiscard]] bool prefix_match(std::string_view digits, bool allow_empty) const noexcept;

  [[nodiscard]] std::size_t state_count() const noexcept { return next_.size(); }

 private:
  static constexpr std::uint8_t kAcceptInside = 1;  ///< accepting with more input to follow
  static constexpr std::uint8_t kAcceptAtEnd = 2;   ///< accepting at the end of the input (`$`)

  DigitPattern() = default;

  std::vector<std::array<std::int32_t, 10>> next_;  ///< -1 = no match possible any more
  std::vector<std::uint8_t> accept_;
};

}  // namespace otp::phone
