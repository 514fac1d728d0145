#pragma once

#include "services/delivery/providers/provider.h"

#include <chrono>
#include <functional>
#include <string_view>

namespace otp::delivery {

/// Called exactly once per `AsyncProvider::send`, on a thread of the provider's choosing (the curl
/// loop, a pool thread): hand the result over and return, never block.
using SendCallback = std::function<void(Result<ProviderReceipt> outcome)>;

/// How the delivery engine talks to a provider: start a send, hear back later. Errors are
/// classified as for `Provider` (kPermanent, kRateLimited + Retry-After, kUnavailable, kTimeout).
/// Implementations are thread-safe.
class AsyncProvider {
 public:
  virtual ~AsyncProvider() = default;
  [[nodiscard]] virtual std::string_view name() const = 0;
  /// Starts sending `message`; the exchange may take at most `time_left` (what is left before
  /// the job's deadline), even if the provider's own timeout is longer.
  virtual void send(const OutboundMessage& message, std::chrono::milliseconds time_left,
                    SendCallback done) = 0;
};

}  // namespace otp::delivery
