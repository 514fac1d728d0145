#include "services/delivery/engine/retry_policy.h"

#include <algorithm>
#include <array>
#include <cstdint>

namespace otp::delivery {

std::chrono::milliseconds retry_delay(const RetryPolicy& policy, int attempt,
                                      std::optional<std::chrono::seconds> retry_after, Rng& rng) {
  if (retry_after) {
    return std::min<std::chrono::milliseconds>(*retry_after, policy.max_retry_after);
  }
  auto backoff = policy.initial_backoff;
  for (int i = 0; i < attempt && backoff < policy.max_backoff; ++i) backoff *= 2;
  backoff = std::min(backoff, policy.max_backoff);
  const auto half = backoff.count() / 2;
  std::array<std::uint8_t, 8> bytes{};
  rng.fill(bytes);
  std::uint64_t draw = 0;
  for (auto byte : bytes) draw = (draw << 8U) | byte;
  const auto span = static_cast<std::uint64_t>(backoff.count() - half + 1);
  return std::chrono::milliseconds(half + static_cast<std::int64_t>(draw % span));
}

}  // namespace otp::delivery
