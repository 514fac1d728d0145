#include "services/delivery/engine/circuit_breaker.h"

namespace otp::delivery {

bool CircuitBreaker::try_acquire(TimePoint now) {
  if (!open_) return true;
  if (now < open_until_ || trial_in_flight_) return false;
  trial_in_flight_ = true;  // half-open: exactly one trial
  return true;
}

void CircuitBreaker::on_success() {
  consecutive_failures_ = 0;
  open_ = false;
  trial_in_flight_ = false;
}

void CircuitBreaker::on_failure(TimePoint now) {
  ++consecutive_failures_;
  if (trial_in_flight_ || consecutive_failures_ >= policy_.failure_threshold) {
    open_ = true;
    open_until_ = now + policy_.open_for;
  }
  trial_in_flight_ = false;
}

void CircuitBreaker::on_neutral() { trial_in_flight_ = false; }

CircuitBreaker::State CircuitBreaker::state(TimePoint now) const {
  if (!open_) return State::kClosed;
  return now < open_until_ ? State::kOpen : State::kHalfOpen;
}

}  // namespace otp::delivery
