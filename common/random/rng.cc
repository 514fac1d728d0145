#include "common/random/rng.h"

#include "common/error/check.h"

#include <openssl/rand.h>

#include <array>
#include <climits>
#include <vector>

namespace otp {
namespace {

constexpr char kHex[] = "0123456789abcdef";

std::string to_hex(std::span<const std::uint8_t> bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (auto byte : bytes) {
    out.push_back(kHex[byte >> 4]);
    out.push_back(kHex[byte & 0x0f]);
  }
  return out;
}

}  // namespace

void OpenSslRng::fill(std::span<std::uint8_t> out) {
  OTP_CHECK(out.size() <= static_cast<std::size_t>(INT_MAX));
  OTP_CHECK(RAND_bytes(out.data(), static_cast<int>(out.size())) == 1);
}

std::string random_hex(Rng& rng, std::size_t bytes) {
  std::vector<std::uint8_t> buffer(bytes);
  rng.fill(buffer);
  return to_hex(buffer);
}

std::string new_verification_id(Rng& rng) { return "otp_" + random_hex(rng, 16); }

std::string new_uuid(Rng& rng) {
  std::array<std::uint8_t, 16> bytes{};
  rng.fill(bytes);
  bytes[6] = static_cast<std::uint8_t>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<std::uint8_t>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  auto hex = to_hex(bytes);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

bool is_verification_id(std::string_view id) noexcept {
  if (id.size() != 36 || id.substr(0, 4) != "otp_") return false;
  for (char c : id.substr(4)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace otp
