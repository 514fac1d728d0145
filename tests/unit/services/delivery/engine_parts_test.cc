// The engine's pure parts: circuit breaker, pacing, retry delays.

#include "services/delivery/engine/circuit_breaker.h"
#include "services/delivery/engine/pacer.h"
#include "services/delivery/engine/retry_policy.h"
#include "tests/support/seeded_rng.h"

#include <gtest/gtest.h>

#include <set>

namespace otp::delivery {
namespace {

using namespace std::chrono_literals;

const TimePoint kT0 = from_unix_ms(1'800'000'000'000);

TEST(CircuitBreakerTest, OpensAfterConsecutiveFailuresThenLetsOneTrialThrough) {
  CircuitBreaker breaker(BreakerPolicy{.failure_threshold = 3, .open_for = 1000ms});
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(breaker.try_acquire(kT0));
    breaker.on_failure(kT0);
  }
  EXPECT_EQ(breaker.state(kT0), CircuitBreaker::State::kOpen);
  EXPECT_FALSE(breaker.try_acquire(kT0 + 999ms));
  EXPECT_TRUE(breaker.try_acquire(kT0 + 1000ms));   // the trial
  EXPECT_FALSE(breaker.try_acquire(kT0 + 1001ms));  // only one
  breaker.on_failure(kT0 + 1100ms);                 // trial failed: open again
  EXPECT_FALSE(breaker.try_acquire(kT0 + 2000ms));
  EXPECT_TRUE(breaker.try_acquire(kT0 + 2100ms));
  breaker.on_success();
  EXPECT_EQ(breaker.state(kT0 + 2100ms), CircuitBreaker::State::kClosed);
  EXPECT_TRUE(breaker.try_acquire(kT0 + 2100ms));
  EXPECT_TRUE(breaker.try_acquire(kT0 + 2100ms));
}

TEST(CircuitBreakerTest, ASuccessResetsTheCountAndNeutralOutcomesDoNotCount) {
  CircuitBreaker breaker(BreakerPolicy{.failure_threshold = 2, .open_for = 1000ms});
  breaker.on_failure(kT0);
  breaker.on_success();
  breaker.on_failure(kT0);
  breaker.on_neutral();
  EXPECT_EQ(breaker.state(kT0), CircuitBreaker::State::kClosed);
  breaker.on_failure(kT0);
  EXPECT_EQ(breaker.state(kT0), CircuitBreaker::State::kOpen);
}

TEST(PacerTest, UnpacedNeverWaits) {
  Pacer pacer(0, 1);
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(pacer.try_take(kT0).has_value());
}

TEST(PacerTest, BurstThenTheRate) {
  Pacer pacer(10, 3);  // 10/s, burst 3
  EXPECT_FALSE(pacer.try_take(kT0));
  EXPECT_FALSE(pacer.try_take(kT0));
  EXPECT_FALSE(pacer.try_take(kT0));
  auto wait = pacer.try_take(kT0);
  ASSERT_TRUE(wait.has_value());
  EXPECT_EQ(*wait, kT0 + 100ms);
  EXPECT_TRUE(pacer.try_take(kT0 + 50ms).has_value());
  EXPECT_FALSE(pacer.try_take(kT0 + 100ms).has_value());
  // One second gives ten tokens, but never more than the burst.
  int granted = 0;
  for (int i = 0; i < 20; ++i) granted += pacer.try_take(kT0 + 5s) ? 0 : 1;
  EXPECT_EQ(granted, 3);
}

TEST(RetryDelayTest, ExponentialWithEqualJitterCappedAndRetryAfterWins) {
  test::SeededRng rng(7);
  RetryPolicy policy{.max_attempts = 8,
                     .initial_backoff = 100ms,
                     .max_backoff = 1000ms,
                     .max_retry_after = 5000ms};
  for (int attempt = 0; attempt < 10; ++attempt) {
    const auto full = std::min(100ms * (1 << std::min(attempt, 10)), 1000ms);
    for (int i = 0; i < 50; ++i) {
      const auto delay = retry_delay(policy, attempt, std::nullopt, rng);
      EXPECT_GE(delay, full / 2);
      EXPECT_LE(delay, full);
    }
  }
  std::set<std::int64_t> seen;
  for (int i = 0; i < 50; ++i) seen.insert(retry_delay(policy, 3, std::nullopt, rng).count());
  EXPECT_GT(seen.size(), 10U);  // jittered, not a constant
  EXPECT_EQ(retry_delay(policy, 0, std::chrono::seconds(3), rng), 3000ms);
  EXPECT_EQ(retry_delay(policy, 0, std::chrono::seconds(60), rng), 5000ms);
}

}  // namespace
}  // namespace otp::delivery
