#include "common/crypto/code_generator.h"

#include "common/error/check.h"

#include <openssl/crypto.h>

#include <array>
#include <cstdint>

namespace otp::crypto {
namespace {

// Largest multiple of 10 that fits in a byte: bytes below it map onto digits evenly.
constexpr std::uint8_t kAcceptBelow = 250;
// One batch covers a 10-digit code unless more than 22 of 32 bytes are rejected (p < 1e-30).
constexpr std::size_t kBatchBytes = 32;

}  // namespace

std::string OtpCodeGenerator::generate(int length) {
  OTP_CHECK(length >= kMinLength && length <= kMaxLength);
  std::string code;
  code.reserve(static_cast<std::size_t>(length));
  std::array<std::uint8_t, kBatchBytes> batch{};
  std::size_t next = batch.size();
  while (code.size() < static_cast<std::size_t>(length)) {
    if (next == batch.size()) {
      rng_.fill(batch);
      next = 0;
    }
    const std::uint8_t byte = batch[next++];
    if (byte < kAcceptBelow) code.push_back(static_cast<char>('0' + byte % 10));
  }
  // The unused bytes would reveal nothing, the used ones would reveal the code.
  OPENSSL_cleanse(batch.data(), batch.size());
  return code;
}

}  // namespace otp::crypto
