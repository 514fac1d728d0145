#pragma once

#include "common/time/clock.h"

#include <chrono>

namespace otp::delivery {

struct BreakerPolicy {
  int failure_threshold = 5;  ///< consecutive transient failures that open the circuit
  std::chrono::milliseconds open_for{5000};
};

/// One provider's circuit breaker. Closed: every send goes through. After `failure_threshold`
/// consecutive transient failures (5xx, timeouts, transport errors) it opens: no sends for
/// `open_for`, so a provider in an outage is not hammered and jobs move to the next provider or
/// wait. Then half-open: one trial send; its success closes the circuit, its failure opens it
/// again. A permanent refusal or a 429 says nothing about the provider's health and is not
/// counted. Not thread-safe (the engine thread owns it); time is passed in.
class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };

  explicit CircuitBreaker(BreakerPolicy policy) : policy_(policy) {}

  /// Whether a send may start now; in half-open state, true once (the trial) until it reports.
  [[nodiscard]] bool try_acquire(TimePoint now);
  void on_success();
  void on_failure(TimePoint now);
  /// A send that was acquired but ended without saying anything about the provider's health.
  void on_neutral();

  [[nodiscard]] State state(TimePoint now) const;
  /// When an open circuit lets a trial through.
  [[nodiscard]] TimePoint reopens_at() const { return open_until_; }

 private:
  BreakerPolicy policy_;
  int consecutive_failures_ = 0;
  bool open_ = false;
  bool trial_in_flight_ = false;
  TimePoint open_until_{};
};

}  // namespace otp::delivery
