#include "common/crypto/hmac.h"
#include "services/intake/auth/thread_hmac.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace otp::intake::auth {
namespace {

std::span<const std::uint8_t> bytes(const std::string& text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

TEST(ThreadHmac, MatchesRfc4231TestCase2) {
  EXPECT_EQ(thread_hmac_sha256_hex(bytes("Jefe"), "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(ThreadHmac, SameAsTheOneShotFunctionWhateverTheKeyAndMessage) {
  // Re-keying one context: alternate keys (empty, short, longer than a SHA-256 block) and
  // messages (empty, short, long) so that no state leaks from one call into the next.
  const std::vector<std::string> keys = {"", "k", "otp-intake/api-secret", std::string(100, 'x')};
  const std::vector<std::string> messages = {"", "secret", std::string(1000, 'm')};
  for (int round = 0; round < 2; ++round) {
    for (const auto& key : keys) {
      for (const auto& message : messages) {
        EXPECT_EQ(thread_hmac_sha256_hex(bytes(key), message),
                  crypto::hmac_sha256_hex(bytes(key), message))
            << "key size " << key.size() << ", message size " << message.size();
      }
    }
  }
}

TEST(ThreadHmac, EachThreadGetsTheSameAnswers) {
  const std::string key = "salt-bytes";
  const std::string expected = crypto::hmac_sha256_hex(bytes(key), "sk_secret");
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (std::size_t t = 0; t < wrong.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        if (thread_hmac_sha256_hex(bytes(key), "sk_secret") != expected) ++wrong[t];
        (void)thread_hmac_sha256_hex(bytes("other"), "other message");
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (const int count : wrong) EXPECT_EQ(count, 0);
}

}  // namespace
}  // namespace otp::intake::auth
