#include "services/intake/auth/thread_hmac.h"

#include "common/error/check.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <memory>

namespace otp::intake::auth {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr std::size_t kDigestBytes = 32;

// A null key would mean "keep the previous key" to EVP_MAC_init: an empty key is a real pointer.
const unsigned char kEmpty[1] = {0};

struct MacDeleter {
  void operator()(EVP_MAC* mac) const noexcept { EVP_MAC_free(mac); }
};
struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* ctx) const noexcept { EVP_MAC_CTX_free(ctx); }
};

/// This thread's HMAC context (the algorithm fetched once), freed when the thread ends.
struct ThreadContext {
  std::unique_ptr<EVP_MAC, MacDeleter> mac{EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr)};
  std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter> ctx{mac ? EVP_MAC_CTX_new(mac.get()) : nullptr};
  bool digest_set = false;  // the context keeps its digest across EVP_MAC_init calls
};

}  // namespace

std::string thread_hmac_sha256_hex(std::span<const std::uint8_t> key, std::string_view message) {
  thread_local ThreadContext context;
  OTP_CHECK(context.ctx != nullptr);
  EVP_MAC_CTX* ctx = context.ctx.get();
  const auto* key_data = key.empty() ? kEmpty : key.data();
  if (context.digest_set) {
    // Only the key changes: passing the digest again would fetch it again.
    OTP_CHECK(EVP_MAC_init(ctx, key_data, key.size(), nullptr) == 1);
  } else {
    char digest_name[] = "SHA256";
    const std::array<OSSL_PARAM, 2> params = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
        OSSL_PARAM_construct_end()};
    OTP_CHECK(EVP_MAC_init(ctx, key_data, key.size(), params.data()) == 1);
    context.digest_set = true;
  }
  const auto* message_data =
      message.empty() ? kEmpty : reinterpret_cast<const unsigned char*>(message.data());
  OTP_CHECK(EVP_MAC_update(ctx, message_data, message.size()) == 1);
  std::array<unsigned char, kDigestBytes> digest{};
  std::size_t digest_length = 0;
  OTP_CHECK(EVP_MAC_final(ctx, digest.data(), &digest_length, digest.size()) == 1);
  OTP_CHECK(digest_length == kDigestBytes);
  std::string hex;
  hex.reserve(2 * kDigestBytes);
  for (const unsigned char byte : digest) {
    hex.push_back(kHex[byte >> 4]);
    hex.push_back(kHex[byte & 0x0f]);
  }
  return hex;
}

}  // namespace otp::intake::auth
