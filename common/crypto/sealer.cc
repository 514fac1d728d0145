#include "common/crypto/sealer.h"

#include "common/crypto/base64.h"
#include "common/crypto/keyed_contexts.h"
#include "common/error/check.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <climits>
#include <memory>
#include <vector>

namespace otp::crypto {
namespace {

const EVP_CIPHER* aes_256_gcm() {
  // Fetched once per process (EVP_aes_256_gcm() would be looked up again on every init).
  static const EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  OTP_CHECK(cipher != nullptr);
  return cipher;
}

// Per thread, the last keys' contexts with their AES key schedule: a call only sets its nonce.
using CipherContexts = detail::KeyedContexts<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;

EVP_CIPHER_CTX* keyed_context(std::span<const std::uint8_t> key, bool encrypt) {
  thread_local CipherContexts encrypting;
  thread_local CipherContexts decrypting;
  const int enc = encrypt ? 1 : 0;
  const auto make = [enc](std::span<const std::uint8_t> bytes) {
    EVP_CIPHER_CTX* made = EVP_CIPHER_CTX_new();
    OTP_CHECK(made != nullptr);
    OTP_CHECK(EVP_CipherInit_ex(made, aes_256_gcm(), nullptr, nullptr, nullptr, enc) == 1);
    OTP_CHECK(EVP_CIPHER_CTX_ctrl(made, EVP_CTRL_GCM_SET_IVLEN,
                                  static_cast<int>(Sealer::kNonceBytes), nullptr) == 1);
    OTP_CHECK(EVP_CipherInit_ex(made, nullptr, nullptr, bytes.data(), nullptr, enc) == 1);
    return made;
  };
  const auto rekey = [enc](EVP_CIPHER_CTX* context, std::span<const std::uint8_t> bytes) {
    OTP_CHECK(EVP_CipherInit_ex(context, nullptr, nullptr, bytes.data(), nullptr, enc) == 1);
  };
  return (encrypt ? encrypting : decrypting).get(key, make, rekey);
}

const unsigned char* bytes_of(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

int int_size(std::size_t size) {
  OTP_CHECK(size <= static_cast<std::size_t>(INT_MAX) / 2);
  return static_cast<int>(size);
}

}  // namespace

Sealed Sealer::seal(std::string_view plaintext, std::string_view aad) const {
  const Key& key = keys_.active();
  OTP_CHECK(key.bytes.size() == KeyRing::kKeyBytes);

  std::vector<unsigned char> out(kNonceBytes + plaintext.size() + kTagBytes);
  unsigned char* nonce = out.data();
  unsigned char* ciphertext = nonce + kNonceBytes;
  unsigned char* tag = ciphertext + plaintext.size();
  rng_.fill(std::span<std::uint8_t>(nonce, kNonceBytes));

  // Failures below can only be allocation failures or misuse of OpenSSL, i.e. bugs.
  EVP_CIPHER_CTX* context = keyed_context(key.bytes, /*encrypt=*/true);
  int length = 0;
  // A new nonce on the key's context starts a new message (key schedule kept).
  OTP_CHECK(EVP_EncryptInit_ex(context, nullptr, nullptr, nullptr, nonce) == 1);
  if (!aad.empty()) {
    OTP_CHECK(EVP_EncryptUpdate(context, nullptr, &length, bytes_of(aad), int_size(aad.size())) ==
              1);
  }
  if (!plaintext.empty()) {
    OTP_CHECK(EVP_EncryptUpdate(context, ciphertext, &length, bytes_of(plaintext),
                                int_size(plaintext.size())) == 1);
    OTP_CHECK(static_cast<std::size_t>(length) == plaintext.size());  // GCM does not buffer
  }
  OTP_CHECK(EVP_EncryptFinal_ex(context, tag, &length) == 1 && length == 0);
  OTP_CHECK(EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, int_size(kTagBytes), tag) == 1);
  return Sealed{key.id, base64_encode(out)};
}

Result<std::string> Sealer::unseal(const Sealed& sealed, std::string_view aad) const {
  const Key* key = keys_.find(sealed.key_id);
  if (key == nullptr) {
    // Ids are not secret, but only echo one that has the shape of an id.
    return fail(Errc::kInvalidInput, is_valid_key_id(sealed.key_id)
                                         ? "sealed with unknown key id '" + sealed.key_id + "'"
                                         : std::string("sealed with a malformed key id"));
  }
  OTP_CHECK(key->bytes.size() == KeyRing::kKeyBytes);
  auto decoded = base64_decode(sealed.data);
  if (!decoded) return fail(Errc::kInvalidInput, "sealed data is not valid base64");
  if (decoded->size() < kNonceBytes + kTagBytes) {
    return fail(Errc::kInvalidInput, "sealed data is too short");
  }
  const std::string_view data = *decoded;
  const auto nonce = bytes_of(data.substr(0, kNonceBytes));
  const auto ciphertext = data.substr(kNonceBytes, data.size() - kNonceBytes - kTagBytes);
  // EVP_CTRL_GCM_SET_TAG takes a non-const pointer.
  std::array<unsigned char, kTagBytes> tag{};
  const auto tag_bytes = data.substr(data.size() - kTagBytes);
  std::copy(tag_bytes.begin(), tag_bytes.end(), tag.begin());

  EVP_CIPHER_CTX* context = keyed_context(key->bytes, /*encrypt=*/false);
  int length = 0;
  OTP_CHECK(EVP_DecryptInit_ex(context, nullptr, nullptr, nullptr, nonce) == 1);
  if (!aad.empty()) {
    OTP_CHECK(EVP_DecryptUpdate(context, nullptr, &length, bytes_of(aad), int_size(aad.size())) ==
              1);
  }
  std::string plaintext(ciphertext.size(), '\0');
  if (!ciphertext.empty()) {
    OTP_CHECK(EVP_DecryptUpdate(context, reinterpret_cast<unsigned char*>(plaintext.data()),
                                &length, bytes_of(ciphertext), int_size(ciphertext.size())) == 1);
    OTP_CHECK(static_cast<std::size_t>(length) == ciphertext.size());
  }
  OTP_CHECK(EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, int_size(kTagBytes), tag.data()) ==
            1);
  // The tag is checked only here, so the plaintext above is unauthenticated until this succeeds.
  std::array<unsigned char, 16> final_block{};
  if (EVP_DecryptFinal_ex(context, final_block.data(), &length) != 1) {
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    return fail(Errc::kInvalidInput, "sealed data failed authentication (key '" + key->id +
                                         "'): tampered, wrong key or wrong verification id");
  }
  return plaintext;
}

}  // namespace otp::crypto
