#include "common/crypto/hmac.h"

#include "common/crypto/digest.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace otp::crypto {
namespace {

std::vector<std::uint8_t> repeated(std::uint8_t byte, std::size_t count) {
  return std::vector<std::uint8_t>(count, byte);
}

std::vector<std::uint8_t> bytes_of(std::string_view text) {
  return std::vector<std::uint8_t>(text.begin(), text.end());
}

Key make_key(std::string id, std::uint8_t fill) { return Key{std::move(id), repeated(fill, 32)}; }

// RFC 4231 section 4.
TEST(HmacSha256, MatchesRfc4231Vectors) {
  EXPECT_EQ(hmac_sha256_hex(repeated(0x0b, 20), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(hmac_sha256_hex(bytes_of("Jefe"), "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hmac_sha256_hex(repeated(0xaa, 20), std::string(50, '\xdd')),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
  EXPECT_EQ(hmac_sha256_hex(repeated(0xaa, 131),
                            "Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  EXPECT_EQ(hmac_sha256_hex(repeated(0xaa, 131),
                            "This is a test using a larger than block-size key and a larger than "
                            "block-size data. The key needs to be hashed before being used by the "
                            "HMAC algorithm."),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

// Contexts are kept per thread and key (a few keys): more keys than that, interleaved and
// repeated, must each give what OpenSSL's one-shot HMAC() computes from scratch.
TEST(HmacSha256, ReusedContextsMatchAFreshComputation) {
  std::vector<std::vector<std::uint8_t>> keys = {{}, bytes_of("Jefe")};
  for (std::uint8_t fill = 1; fill <= 6; ++fill) keys.push_back(repeated(fill, 32));
  keys.push_back(repeated(0xaa, 131));  // longer than a block: hashed first
  for (int round = 0; round < 3; ++round) {
    for (const auto& key : keys) {
      for (const std::string& message :
           std::vector<std::string>{"", "code|t|otp_1|123456", std::string(300, 'm')}) {
        std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
        unsigned int length = 0;
        static const unsigned char kNone = 0;
        HMAC(EVP_sha256(), key.empty() ? &kNone : key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest.data(),
             &length);
        std::string expected;
        for (unsigned int i = 0; i < length; ++i) {
          expected += "0123456789abcdef"[digest[i] >> 4];
          expected += "0123456789abcdef"[digest[i] & 0x0f];
        }
        EXPECT_EQ(hmac_sha256_hex(key, message), expected)
            << "key of " << key.size() << " bytes, round " << round;
      }
    }
  }
}

// Each thread has its own contexts: threads interleaving two keys all get the same digests.
TEST(HmacSha256, EachThreadGetsTheSameAnswers) {
  const auto salt = bytes_of("salt-bytes");
  const std::string expected = hmac_sha256_hex(salt, "sk_secret");
  const std::string other = hmac_sha256_hex(bytes_of("other"), "other message");
  std::vector<int> wrong(4, 0);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < wrong.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        if (hmac_sha256_hex(salt, "sk_secret") != expected) ++wrong[t];
        if (hmac_sha256_hex(bytes_of("other"), "other message") != other) ++wrong[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (const int count : wrong) EXPECT_EQ(count, 0);
}

TEST(HmacSha256, HandlesEmptyKeyAndMessage) {
  EXPECT_EQ(hmac_sha256_hex({}, ""),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(CodeHmac, IsDomainSeparatedHmacOfTenantVerificationIdAndCode) {
  const auto key = make_key("k1", 0x42);
  const auto hmac = code_hmac(key, "acme", "otp_0123456789abcdef0123456789abcdef", "123456");
  EXPECT_EQ(hmac,
            hmac_sha256_hex(key.bytes, "code|acme|otp_0123456789abcdef0123456789abcdef|123456"));
  EXPECT_EQ(hmac.size(), 64U);
  EXPECT_EQ(hmac.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(CodeHmac, DiffersByTenantVerificationIdCodeAndKey) {
  const auto key = make_key("k1", 0x42);
  const auto base = code_hmac(key, "acme", "otp_a", "123456");
  EXPECT_EQ(code_hmac(key, "acme", "otp_a", "123456"), base);
  EXPECT_NE(code_hmac(key, "globex", "otp_a", "123456"), base);
  EXPECT_NE(code_hmac(key, "acme", "otp_b", "123456"), base);
  EXPECT_NE(code_hmac(key, "acme", "otp_a", "123457"), base);
  EXPECT_NE(code_hmac(make_key("k1", 0x43), "acme", "otp_a", "123456"), base);
}

TEST(RecipientHash, Is128BitPrefixOfKeyedHash) {
  const auto key = make_key("k1", 0x42);
  const auto hash = recipient_hash(key, "acme", "+14155550100");
  EXPECT_EQ(hash.size(), 32U);
  EXPECT_EQ(hash, hmac_sha256_hex(key.bytes, "recipient|acme|+14155550100").substr(0, 32));
  EXPECT_EQ(hash.find("4155550100"), std::string::npos);
}

TEST(RecipientHash, DiffersByTenantRecipientAndKey) {
  const auto key = make_key("k1", 0x42);
  const auto base = recipient_hash(key, "acme", "+14155550100");
  EXPECT_EQ(recipient_hash(key, "acme", "+14155550100"), base);
  EXPECT_NE(recipient_hash(key, "globex", "+14155550100"), base);
  EXPECT_NE(recipient_hash(key, "acme", "+14155550101"), base);
  EXPECT_NE(recipient_hash(make_key("k2", 0x24), "acme", "+14155550100"), base);
}

TEST(ConstantTimeEqual, ComparesContentsAndLengths) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_TRUE(constant_time_equal(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "xbc"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
  EXPECT_FALSE(constant_time_equal("ab", "abc"));
  EXPECT_FALSE(constant_time_equal("", "a"));
  EXPECT_FALSE(constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
}

}  // namespace
}  // namespace otp::crypto

TEST(Digest, Sha256OfAbcMatchesFips180Vector) {
  EXPECT_EQ(otp::crypto::sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Digest, DerivedUuidIsStableShapedAndSeedSensitive) {
  auto id = otp::crypto::derived_uuid("acme|req-1|verification.created");
  EXPECT_EQ(id, otp::crypto::derived_uuid("acme|req-1|verification.created"));
  EXPECT_NE(id, otp::crypto::derived_uuid("acme|req-2|verification.created"));
  ASSERT_EQ(id.size(), 36U);
  EXPECT_EQ(id[8], '-');
  EXPECT_EQ(id[14], '5');
  EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b');
}
