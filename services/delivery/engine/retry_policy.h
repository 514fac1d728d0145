#pragma once

#include "common/error/error.h"
#include "common/random/rng.h"

#include <chrono>
#include <optional>

namespace otp::delivery {

/// How transient failures are retried (OTP_DELIVERY_* keys, see services/delivery/README.md).
struct RetryPolicy {
  /// Sends per job on one channel, every provider counted; then the channel is given up.
  int max_attempts = 8;
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{30000};
  /// A provider's Retry-After is honoured up to this (a bigger one is treated as this much).
  std::chrono::milliseconds max_retry_after{300000};
};

/// The wait before retry number `attempt + 1` after a transient failure: the provider's
/// Retry-After when it sent one (capped at `max_retry_after`), else exponential backoff
/// `initial * 2^attempt` capped at `max_backoff`, with "equal jitter" (a uniform draw in
/// [half, full]) so that a burst of failures does not come back as a burst, while every retry
/// still waits at least half the backoff.
[[nodiscard]] std::chrono::milliseconds retry_delay(const RetryPolicy& policy, int attempt,
                                                    std::optional<std::chrono::seconds> retry_after,
                                                    Rng& rng);

}  // namespace otp::delivery
