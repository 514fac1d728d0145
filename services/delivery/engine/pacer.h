#pragma once

#include "common/time/clock.h"

#include <optional>

namespace otp::delivery {

/// Per-provider pacing: a token bucket of `rate_per_second` tokens with room for `burst`, so a
/// provider never gets more messages per second than its account allows (OTP_<P>_RATE_PER_SECOND).
/// A rate of 0 means no pacing. Not thread-safe (the engine thread owns it); time is passed in.
class Pacer {
 public:
  Pacer(double rate_per_second, double burst);

  /// Takes a token and returns nullopt if one is available now; otherwise takes nothing and
  /// returns when the next token will be there.
  [[nodiscard]] std::optional<TimePoint> try_take(TimePoint now);

 private:
  double rate_;
  double burst_;
  double tokens_;
  TimePoint updated_{};
};

}  // namespace otp::delivery
