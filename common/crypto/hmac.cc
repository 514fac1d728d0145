#include "common/crypto/hmac.h"

#include "common/crypto/keyed_contexts.h"
#include "common/error/check.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#include <array>
#include <climits>
#include <memory>

namespace otp::crypto {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr std::size_t kRecipientHashHexChars = 32;

// OpenSSL may treat a null key or message pointer as "absent" rather than "empty".
const unsigned char kEmpty[1] = {0};

}  // namespace

std::string hmac_sha256_hex(std::span<const std::uint8_t> key, std::string_view message) {
  OTP_CHECK(key.size() <= static_cast<std::size_t>(INT_MAX));
  // OpenSSL 3's one-shot HMAC() looks the MAC and the digest up by name and derives the key's
  // padded state on every call (a provider fetch under locks): fetch the MAC once per thread and
  // keep a context per key, which each call only resets.
  struct Fetched {
    EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    ~Fetched() { EVP_MAC_free(mac); }
  };
  thread_local const Fetched fetched;
  OTP_CHECK(fetched.mac != nullptr);
  thread_local detail::KeyedContexts<EVP_MAC_CTX, EVP_MAC_CTX_free> contexts;
  const auto make = [](std::span<const std::uint8_t> bytes) {
    EVP_MAC_CTX* made = EVP_MAC_CTX_new(fetched.mac);
    OTP_CHECK(made != nullptr);
    char digest_name[] = "SHA256";
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
        OSSL_PARAM_construct_end()};
    OTP_CHECK(EVP_MAC_init(made, bytes.empty() ? kEmpty : bytes.data(), bytes.size(), params) == 1);
    return made;
  };
  const auto rekey = [](EVP_MAC_CTX* context, std::span<const std::uint8_t> bytes) {
    // The digest stays set: only the key changes.
    OTP_CHECK(EVP_MAC_init(context, bytes.empty() ? kEmpty : bytes.data(), bytes.size(), nullptr) ==
              1);
  };
  EVP_MAC_CTX* context = contexts.get(key, make, rekey);
  // A null key: back to the state right after the key (HMAC's documented re-initialisation).
  OTP_CHECK(EVP_MAC_init(context, nullptr, 0, nullptr) == 1);
  const auto* message_data =
      message.empty() ? kEmpty : reinterpret_cast<const unsigned char*>(message.data());
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  std::size_t digest_length = 0;
  OTP_CHECK(EVP_MAC_update(context, message_data, message.size()) == 1);
  OTP_CHECK(EVP_MAC_final(context, digest.data(), &digest_length, digest.size()) == 1);
  std::string hex;
  hex.reserve(2 * digest_length);
  for (std::size_t i = 0; i < digest_length; ++i) {
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
