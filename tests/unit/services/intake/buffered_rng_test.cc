#include "services/intake/buffered_rng.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace otp::intake {
namespace {

/// A source that hands out 0, 1, 2, ... (mod 256) and records each call's size.
class CountingRng final : public Rng {
 public:
  void fill(std::span<std::uint8_t> out) override {
    std::lock_guard lock(mutex);
    calls.push_back(out.size());
    for (auto& byte : out) byte = static_cast<std::uint8_t>(next++);
  }
  std::mutex mutex;
  std::vector<std::size_t> calls;
  std::uint64_t next = 0;
};

std::vector<std::uint8_t> draw(Rng& rng, std::size_t n) {
  std::vector<std::uint8_t> out(n);
  rng.fill(out);
  return out;
}

TEST(BufferedRng, HandsOutTheSourcesBytesInOrderOnceEach) {
  CountingRng source;
  BufferedRng rng(source, 64);
  EXPECT_EQ(draw(rng, 4), (std::vector<std::uint8_t>{0, 1, 2, 3}));
  EXPECT_EQ(draw(rng, 3), (std::vector<std::uint8_t>{4, 5, 6}));
  // One refill of the whole buffer served both draws.
  EXPECT_EQ(source.calls, (std::vector<std::size_t>{64}));
}

TEST(BufferedRng, RefillsWhenTheRestIsTooShortAndNeverReusesBytes) {
  CountingRng source;
  BufferedRng rng(source, 64);
  for (int i = 0; i < 4; ++i) (void)draw(rng, 15);  // 60 of 64 used
  // 4 left, 8 wanted: the 4 are dropped, the draw comes from a fresh buffer (bytes 64..71).
  const auto fresh = draw(rng, 8);
  EXPECT_EQ(fresh, (std::vector<std::uint8_t>{64, 65, 66, 67, 68, 69, 70, 71}));
  EXPECT_EQ(source.calls, (std::vector<std::size_t>{64, 64}));
}

TEST(BufferedRng, LargeDrawsGoToTheSourceDirectly) {
  CountingRng source;
  BufferedRng rng(source, 64);
  const auto big = draw(rng, 16);  // a quarter of the buffer
  EXPECT_EQ(big.front(), 0);
  EXPECT_EQ(big.back(), 15);
  EXPECT_EQ(source.calls, (std::vector<std::size_t>{16}));
  EXPECT_EQ(draw(rng, 1), (std::vector<std::uint8_t>{16}));
  EXPECT_EQ(source.calls, (std::vector<std::size_t>{16, 64}));
}

TEST(BufferedRng, EmptyDrawTouchesNothing) {
  CountingRng source;
  BufferedRng rng(source, 64);
  std::vector<std::uint8_t> none;
  rng.fill(none);
  EXPECT_TRUE(source.calls.empty());
}

TEST(BufferedRng, ConcurrentDrawsGetDisjointBytes) {
  // The source's byte b is byte b % 4 (little endian) of the 32-bit number b / 4, so a 16-byte
  // draw from a refill (4 KiB, word-aligned) starts with a word that names it. Every word
  // 0, 4, 8, ... must start exactly one draw, whichever thread got it.
  class WordRng final : public Rng {
   public:
    void fill(std::span<std::uint8_t> out) override {
      std::lock_guard lock(mutex_);
      for (auto& byte : out) {
        byte = static_cast<std::uint8_t>((next_ / 4) >> (8 * (next_ % 4)));
        ++next_;
      }
    }

   private:
    std::mutex mutex_;
    std::uint64_t next_ = 0;
  } source;
  BufferedRng rng(source);
  constexpr int kThreads = 4;
  constexpr int kDraws = 2048;  // per thread: 32 refills in all
  std::vector<std::vector<std::uint32_t>> seen(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&rng, &out = seen[static_cast<std::size_t>(t)]] {
      for (int i = 0; i < kDraws; ++i) {
        std::array<std::uint8_t, 16> bytes{};
        rng.fill(bytes);
        std::array<std::uint32_t, 4> words{};
        for (std::size_t w = 0; w < 4; ++w) {
          for (std::size_t k = 0; k < 4; ++k) {
            words[w] |= static_cast<std::uint32_t>(bytes[4 * w + k]) << (8 * k);
          }
        }
        // One contiguous slice of the source.
        if (words[1] != words[0] + 1 || words[2] != words[0] + 2 || words[3] != words[0] + 3) {
          out.push_back(UINT32_MAX);
        } else {
          out.push_back(words[0]);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::vector<std::uint32_t> all;
  for (const auto& draws : seen) all.insert(all.end(), draws.begin(), draws.end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kThreads * kDraws));
  for (std::size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], 4 * i) << i;
}

}  // namespace
}  // namespace otp::intake
