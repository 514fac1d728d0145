#pragma once

#include "common/random/rng.h"

#include <string>

namespace otp::crypto {

/// Draws one-time codes: `length` uniformly random decimal digits.
///
/// Each digit comes from one random byte b, accepted only if b < 250 and mapped to b % 10; bytes
/// 250..255 are discarded. 250 is a multiple of 10, so every digit is exactly equally likely (no
/// modulo bias). Bytes are requested from the Rng in batches, normally one call per code.
///
/// Holds a reference to `rng`, which must outlive the generator; thread-safe if `rng` is (every
/// production Rng is). Use `OpenSslRng` in production and `SeededRng` in tests.
class OtpCodeGenerator {
 public:
  static constexpr int kMinLength = 4;
  static constexpr int kMaxLength = 10;

  explicit OtpCodeGenerator(Rng& rng) : rng_(rng) {}

  /// A code of `length` digits. `length` outside kMinLength..kMaxLength is a bug (tenant settings
  /// are validated upstream) and aborts via OTP_CHECK.
  [[nodiscard]] std::string generate(int length);

 private:
  Rng& rng_;
};

}  // namespace otp::crypto
