#include "common/crypto/sealer.h"

#include "common/crypto/base64.h"
#include "tests/support/seeded_rng.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace otp::crypto {
namespace {

constexpr std::string_view kVerificationId = "otp_0123456789abcdef0123456789abcdef";

std::string entry(const std::string& id, std::uint8_t fill) {
  return id + ":" + base64_encode(std::vector<std::uint8_t>(32, fill));
}

KeyRing ring(const std::string& spec) {
  auto parsed = KeyRing::parse(spec);
  EXPECT_TRUE(parsed.has_value()) << parsed.error().message;
  return std::move(*parsed);
}

class SealerTest : public ::testing::Test {
 protected:
  KeyRing keys_ = ring(entry("k1", 0x11));
  test::SeededRng rng_{99};
  Sealer sealer_{keys_, rng_};
};

TEST_F(SealerTest, RoundTrips) {
  const auto sealed = sealer_.seal("123456", kVerificationId);
  EXPECT_EQ(sealed.key_id, "k1");
  EXPECT_EQ(sealed.data.find("123456"), std::string::npos);
  auto opened = sealer_.unseal(sealed, kVerificationId);
  ASSERT_TRUE(opened.has_value()) << opened.error().message;
  EXPECT_EQ(*opened, "123456");
}

TEST_F(SealerTest, RoundTripsEmptyAndLongPlaintextAndEmptyAad) {
  for (const std::string& plaintext : {std::string(), std::string(5000, 'x')}) {
    for (std::string_view aad : {std::string_view(), kVerificationId}) {
      auto opened = sealer_.unseal(sealer_.seal(plaintext, aad), aad);
      ASSERT_TRUE(opened.has_value()) << opened.error().message;
      EXPECT_EQ(*opened, plaintext);
    }
  }
}

TEST_F(SealerTest, DataIsNonceCiphertextTag) {
  const auto sealed = sealer_.seal("123456", kVerificationId);
  auto raw = base64_decode(sealed.data);
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(raw->size(), Sealer::kNonceBytes + 6 + Sealer::kTagBytes);
}

// AES-256-GCM known answer (McGrew & Viega, GCM test case 14): zero key, zero nonce, one zero
// block, no AAD.
TEST(Sealer, MatchesGcmKnownAnswer) {
  const auto keys = ring("zero:" + base64_encode(std::vector<std::uint8_t>(32, 0)));
  test::ScriptedRng zeros({0});
  const Sealer sealer(keys, zeros);
  const auto sealed = sealer.seal(std::string(16, '\0'), "");
  auto raw = base64_decode(sealed.data);
  ASSERT_TRUE(raw.has_value());
  const std::vector<std::uint8_t> expected = {
      0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,     // nonce
      0xce, 0xa7, 0x40, 0x3d, 0x4d, 0x60, 0x6b, 0x6e, 0x07, 0x4e, 0xc5, 0xd3,  // ciphertext
      0xba, 0xf3, 0x9d, 0x18,                                                  //
      0xd0, 0xd1, 0xc8, 0xa7, 0x99, 0x99, 0x6b, 0xf0, 0x26, 0x5b, 0x98, 0xb5,  // tag
      0xd4, 0x8a, 0xb9, 0x19};
  EXPECT_EQ(std::vector<std::uint8_t>(raw->begin(), raw->end()), expected);
}

TEST_F(SealerTest, NonceDiffersBetweenSeals) {
  const auto first = sealer_.seal("123456", kVerificationId);
  const auto second = sealer_.seal("123456", kVerificationId);
  EXPECT_NE(first.data, second.data);
  EXPECT_NE(base64_decode(first.data)->substr(0, Sealer::kNonceBytes),
            base64_decode(second.data)->substr(0, Sealer::kNonceBytes));
}

TEST_F(SealerTest, NonceComesFromTheRng) {
  test::ScriptedRng scripted({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  const Sealer sealer(keys_, scripted);
  const auto raw = base64_decode(sealer.seal("123456", kVerificationId).data);
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(raw->substr(0, 12), "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c");
}

TEST_F(SealerTest, RejectsEveryTamperedByte) {
  const auto sealed = sealer_.seal("123456", kVerificationId);
  const auto raw = *base64_decode(sealed.data);
  for (std::size_t i = 0; i < raw.size(); ++i) {
    for (unsigned char flip : {0x01, 0x80, 0xff}) {
      auto tampered = raw;
      tampered[i] = static_cast<char>(static_cast<unsigned char>(tampered[i]) ^ flip);
      auto opened = sealer_.unseal({sealed.key_id, base64_encode(tampered)}, kVerificationId);
      ASSERT_FALSE(opened.has_value()) << "byte " << i;
      EXPECT_EQ(opened.error().code, Errc::kInvalidInput);
    }
  }
}

TEST_F(SealerTest, RejectsEveryTamperedBase64Character) {
  const auto sealed = sealer_.seal("123456", kVerificationId);
  for (std::size_t i = 0; i < sealed.data.size(); ++i) {
    auto tampered = sealed;
    tampered.data[i] = tampered.data[i] == 'A' ? 'B' : 'A';
    auto opened = sealer_.unseal(tampered, kVerificationId);
    ASSERT_FALSE(opened.has_value()) << "character " << i;
    EXPECT_EQ(opened.error().code, Errc::kInvalidInput);
  }
}

TEST_F(SealerTest, RejectsWrongAad) {
  const auto sealed = sealer_.seal("123456", kVerificationId);
  for (std::string_view aad : {"otp_0123456789abcdef0123456789abcdee", "", "otp_"}) {
    auto opened = sealer_.unseal(sealed, aad);
    ASSERT_FALSE(opened.has_value()) << aad;
    EXPECT_EQ(opened.error().code, Errc::kInvalidInput);
  }
}

TEST_F(SealerTest, RejectsUnknownKeyId) {
  auto sealed = sealer_.seal("123456", kVerificationId);
  sealed.key_id = "k9";
  auto opened = sealer_.unseal(sealed, kVerificationId);
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().code, Errc::kInvalidInput);
  EXPECT_NE(opened.error().message.find("unknown key id 'k9'"), std::string::npos);

  sealed.key_id = std::string(1000, '\n');
  opened = sealer_.unseal(sealed, kVerificationId);
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().message.find('\n'), std::string::npos);
}

TEST_F(SealerTest, RejectsSameIdWithDifferentKey) {
  const auto sealed = sealer_.seal("123456", kVerificationId);
  const auto other_keys = ring(entry("k1", 0x12));
  const Sealer other(other_keys, rng_);
  auto opened = other.unseal(sealed, kVerificationId);
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().code, Errc::kInvalidInput);
}

TEST_F(SealerTest, RejectsMalformedDataWithoutCrashing) {
  const std::vector<std::string> bad = {
      "",                                               // empty
      "!!!!",                                           // not base64
      "MTIzNDU2",                                       // shorter than nonce + tag
      base64_encode(std::string(27, 'x')),              // one byte short
      base64_encode(std::string(28, 'x')),              // empty ciphertext, bad tag
      base64_encode(std::string(100, '\0')),            // garbage
      base64url_encode(std::string(40, '\xff')) + "=",  // other alphabet
  };
  for (const auto& data : bad) {
    auto opened = sealer_.unseal({"k1", data}, kVerificationId);
    ASSERT_FALSE(opened.has_value()) << data;
    EXPECT_EQ(opened.error().code, Errc::kInvalidInput);
  }
}

TEST(Sealer, UnsealsAfterRotation) {
  test::SeededRng rng(5);
  const auto before = ring(entry("k1", 0x11));
  const auto after = ring(entry("k2", 0x22) + "," + entry("k1", 0x11));
  const Sealer old_sealer(before, rng);
  const Sealer new_sealer(after, rng);

  const auto old_sealed = old_sealer.seal("123456", kVerificationId);
  auto opened = new_sealer.unseal(old_sealed, kVerificationId);
  ASSERT_TRUE(opened.has_value()) << opened.error().message;
  EXPECT_EQ(*opened, "123456");

  // New seals use the new active key, which the old ring cannot open.
  const auto new_sealed = new_sealer.seal("654321", kVerificationId);
  EXPECT_EQ(new_sealed.key_id, "k2");
  EXPECT_EQ(new_sealer.unseal(new_sealed, kVerificationId).value_or(""), "654321");
  EXPECT_FALSE(old_sealer.unseal(new_sealed, kVerificationId).has_value());
}

// Opens `sealed` with a context of its own (none of the Sealer's per-thread ones), so a Sealer
// that reused a nonce or a stale state would be caught even if its own unseal agreed with it.
std::optional<std::string> open_independently(const std::vector<std::uint8_t>& key,
                                              const Sealed& sealed, std::string_view aad) {
  auto raw = base64_decode(sealed.data);
  if (!raw || raw->size() < Sealer::kNonceBytes + Sealer::kTagBytes) return std::nullopt;
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw->data());
  const std::size_t text = raw->size() - Sealer::kNonceBytes - Sealer::kTagBytes;
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> context(EVP_CIPHER_CTX_new(),
                                                                          &EVP_CIPHER_CTX_free);
  std::string plaintext(text, '\0');
  std::vector<unsigned char> tag(bytes + Sealer::kNonceBytes + text, bytes + raw->size());
  int length = 0;
  const bool opened =
      EVP_DecryptInit_ex(context.get(), EVP_aes_256_gcm(), nullptr, key.data(), bytes) == 1 &&
      EVP_DecryptUpdate(context.get(), nullptr, &length,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) == 1 &&
      EVP_DecryptUpdate(context.get(), reinterpret_cast<unsigned char*>(plaintext.data()), &length,
                        bytes + Sealer::kNonceBytes, static_cast<int>(text)) == 1 &&
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag.size()),
                          tag.data()) == 1 &&
      EVP_DecryptFinal_ex(context.get(), tag.data(), &length) == 1;
  if (!opened) return std::nullopt;
  return plaintext;
}

// Contexts are kept per thread and key: seals and unseals interleaved across more keys than the
// cache holds, repeated, each with its own nonce, must all be what a fresh context computes.
TEST(Sealer, ReusedContextsSealEachMessageAfresh) {
  test::SeededRng rng(17);
  std::vector<KeyRing> rings;
  for (std::uint8_t k = 1; k <= 6; ++k) rings.push_back(ring(entry("k" + std::to_string(k), k)));
  std::vector<Sealed> sealed;
  for (int round = 0; round < 3; ++round) {
    for (std::size_t k = 0; k < rings.size(); ++k) {
      const Sealer sealer(rings[k], rng);
      const std::string plaintext = "code-" + std::to_string(round) + "-" + std::to_string(k);
      sealed.push_back(sealer.seal(plaintext, kVerificationId));
      const auto key = std::vector<std::uint8_t>(32, static_cast<std::uint8_t>(k + 1));
      EXPECT_EQ(open_independently(key, sealed.back(), kVerificationId).value_or("<none>"),
                plaintext);
      // A failed authentication must not spoil the context for the next message.
      EXPECT_FALSE(sealer.unseal(sealed.back(), "another id").has_value());
      EXPECT_EQ(sealer.unseal(sealed.back(), kVerificationId).value_or("<none>"), plaintext);
    }
  }
  for (std::size_t i = 1; i < sealed.size(); ++i) EXPECT_NE(sealed[i].data, sealed[i - 1].data);

  // The same key and nonce twice in a row: the known answer both times.
  const auto zero = ring("zero:" + base64_encode(std::vector<std::uint8_t>(32, 0)));
  test::ScriptedRng zeros({0});
  const Sealer sealer(zero, zeros);
  const auto first = sealer.seal(std::string(16, '\0'), "");
  EXPECT_EQ(sealer.seal(std::string(16, '\0'), "").data, first.data);
  EXPECT_EQ(base64_decode(first.data)->substr(Sealer::kNonceBytes, 4), "\xce\xa7\x40\x3d");
}

}  // namespace
}  // namespace otp::crypto
