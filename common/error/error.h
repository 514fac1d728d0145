#pragma once

#include <tl/expected.hpp>

#include <string>
#include <string_view>

namespace otp {

/// Broad failure classes shared by every module. Adapters map their library's codes onto these in
/// one function at their boundary; callers decide on retry versus dead-letter from `code` alone.
enum class Errc {
  kInvalidInput,  ///< the input can never succeed as it is (bad JSON, bad field, bad signature)
  kNotFound,      ///< the thing asked for does not exist (or belongs to another tenant)
  kRateLimited,   ///< a limit said no; may succeed later
  kUnavailable,   ///< a dependency is down or unreachable; retry
  kTimeout,       ///< a dependency did not answer in time; retry
  kPermanent,     ///< a dependency refused for good (e.g. provider 4xx); do not retry
  kInternal,      ///< a bug or an impossible state
};

[[nodiscard]] std::string_view to_string(Errc code) noexcept;

/// A failure as a value. `message` says what failed, with ids; never a secret, a code or a full
/// phone number.
struct Error {
  Errc code;
  std::string message;

  [[nodiscard]] bool is_retryable() const noexcept {
    return code == Errc::kUnavailable || code == Errc::kTimeout || code == Errc::kRateLimited;
  }
};

template <class T>
using Result = tl::expected<T, Error>;

/// Shorthand for returning a failure: `return fail(Errc::kNotFound, "no tenant {}", id);`
[[nodiscard]] inline tl::unexpected<Error> fail(Errc code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}

}  // namespace otp
