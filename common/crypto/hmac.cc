#include "common/crypto/hmac.h"

#include "common/error/check.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <climits>

namespace otp::crypto {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr std::size_t kRecipientHashHexChars = 32;

// OpenSSL may treat a null key or message pointer as "absent" rather than "empty".
const unsigned char kEmpty[1] = {0};

}  // namespace

std::string hmac_sha256_hex(std::span<const std::uint8_t> key, std::string_view message) {
  OTP_CHECK(key.size() <= static_cast<std::size_t>(INT_MAX));
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_length = 0;
  const auto* key_data = key.empty() ? kEmpty : key.data();
  const auto* message_data =
      message.empty() ? kEmpty : reinterpret_cast<const unsigned char*>(message.data());
  OTP_CHECK(HMAC(EVP_sha256(), key_data, static_cast<int>(key.size()), message_data, message.size(),
                 digest.data(), &digest_length) != nullptr);
  std::string hex;
  hex.reserve(2 * digest_length);
  for (unsigned int i = 0; i < digest_length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0x0f]);
  }
  return hex;
}

std::string code_hmac(const Key& key, std::string_view tenant, std::string_view verification_id,
                      std::string_view code) {
  std::string message;
  // Domain-separated from recipient_hash ("recipient|...") so the two can never collide.
  message.reserve(tenant.size() + verification_id.size() + code.size() + 7);
  message.append("code|")
      .append(tenant)
      .append("|")
      .append(verification_id)
      .append("|")
      .append(code);
  auto hex = hmac_sha256_hex(key.bytes, message);
  OPENSSL_cleanse(message.data(), message.size());  // it holds the code in clear
  return hex;
}

std::string recipient_hash(const Key& key, std::string_view tenant, std::string_view recipient) {
  std::string message = "recipient|";
  message.append(tenant).append("|").append(recipient);
  return hmac_sha256_hex(key.bytes, message).substr(0, kRecipientHashHexChars);
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace otp::crypto
