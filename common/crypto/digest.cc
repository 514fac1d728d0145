#include "common/crypto/digest.h"

#include "common/error/check.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <array>
#include <cstdint>

namespace otp::crypto {
namespace {

constexpr char kHex[] = "0123456789abcdef";

std::array<std::uint8_t, SHA256_DIGEST_LENGTH> digest(std::string_view data) {
  // OpenSSL 3's one-shot SHA256() fetches the digest by name on every call: fetch it once per
  // thread and reuse one context.
  struct Fetched {
    EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    EVP_MD_CTX* context = EVP_MD_CTX_new();
    ~Fetched() {
      EVP_MD_CTX_free(context);
      EVP_MD_free(md);
    }
  };
  thread_local const Fetched fetched;
  OTP_CHECK(fetched.md != nullptr && fetched.context != nullptr);
  std::array<std::uint8_t, SHA256_DIGEST_LENGTH> out{};
  unsigned int length = 0;
  OTP_CHECK(EVP_DigestInit_ex(fetched.context, fetched.md, nullptr) == 1);
  OTP_CHECK(EVP_DigestUpdate(fetched.context, data.data(), data.size()) == 1);
  OTP_CHECK(EVP_DigestFinal_ex(fetched.context, out.data(), &length) == 1 && length == out.size());
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
