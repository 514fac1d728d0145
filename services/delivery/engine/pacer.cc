#include "services/delivery/engine/pacer.h"

#include <algorithm>
#include <chrono>

namespace otp::delivery {

Pacer::Pacer(double rate_per_second, double burst)
    : rate_(rate_per_second), burst_(std::max(1.0, burst)), tokens_(std::max(1.0, burst)) {}

std::optional<TimePoint> Pacer::try_take(TimePoint now) {
  if (rate_ <= 0) return std::nullopt;
  if (updated_ != TimePoint{} && now > updated_) {
    const std::chrono::duration<double> elapsed = now - updated_;
    tokens_ = std::min(burst_, tokens_ + elapsed.count() * rate_);
  }
  if (updated_ == TimePoint{} || now > updated_) updated_ = now;
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return std::nullopt;
  }
  const auto wait = std::chrono::duration<double>((1.0 - tokens_) / rate_);
  return now + std::chrono::ceil<std::chrono::milliseconds>(wait);
}

}  // namespace otp::delivery
