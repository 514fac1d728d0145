#include "common/crypto/digest.h"

#include <openssl/sha.h>

#include <array>
#include <cstdint>

namespace otp::crypto {
namespace {

constexpr char kHex[] = "0123456789abcdef";

std::array<std::uint8_t, SHA256_DIGEST_LENGTH> digest(std::string_view data) {
  std::array<std::uint8_t, SHA256_DIGEST_LENGTH> out{};
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data());
  return out;
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  std::string hex;
  for (auto byte : digest(data)) {
    hex.push_back(kHex[byte >> 4]);
    hex.push_back(kHex[byte & 0x0f]);
  }
  return hex;
}

std::string derived_uuid(std::string_view seed) {
  auto bytes = digest(seed);
  bytes[6] = static_cast<std::uint8_t>((bytes[6] & 0x0f) | 0x50);  // version 5 layout (SHA-based)
  bytes[8] = static_cast<std::uint8_t>((bytes[8] & 0x3f) | 0x80);
  std::string out;
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0x0f]);
  }
  return out;
}

}  // namespace otp::crypto
