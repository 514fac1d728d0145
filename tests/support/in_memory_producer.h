#pragma once

#include "common/kafka/producer.h"

#include <deque>
#include <mutex>
#include <vector>

namespace otp::testing {

/// A producer that keeps what it is given. By default every record is acknowledged at once;
/// with `hold_acks(true)` acknowledgements wait for `ack_all()` or `fail_all()`, and
/// `refuse_next(n)` makes the next n `produce` calls fail as a full queue would. Thread-safe.
class InMemoryProducer final : public kafka::Producer {
 public:
  Result<void> produce(const kafka::OutboundRecord& record, kafka::DeliveryCallback done) override {
    kafka::DeliveryCallback run_now;
    {
      std::lock_guard lock(mutex_);
      if (refuse_ > 0) {
        --refuse_;
        return fail(Errc::kRateLimited, "queue full (test)");
      }
      records_.push_back(record);
      if (hold_) {
        held_.push_back(std::move(done));
        return {};
      }
      run_now = std::move(done);
    }
    if (run_now) run_now(Result<void>{});
    return {};
  }

  bool flush(std::chrono::milliseconds /*timeout*/) override {
    std::lock_guard lock(mutex_);
    return held_.empty();
  }

  void hold_acks(bool hold) {
    std::lock_guard lock(mutex_);
    hold_ = hold;
  }
  void refuse_next(int count) {
    std::lock_guard lock(mutex_);
    refuse_ = count;
  }
  void ack_all() { finish_all(Result<void>{}); }
  void fail_all() { finish_all(fail(Errc::kTimeout, "not acknowledged (test)")); }

  [[nodiscard]] std::vector<kafka::OutboundRecord> records() const {
    std::lock_guard lock(mutex_);
    return records_;
  }
  [[nodiscard]] std::vector<kafka::OutboundRecord> records_for(const std::string& topic) const {
    std::lock_guard lock(mutex_);
    std::vector<kafka::OutboundRecord> out;
    for (const auto& record : records_) {
      if (record.topic == topic) out.push_back(record);
    }
    return out;
  }
  void clear() {
    std::lock_guard lock(mutex_);
    records_.clear();
  }

 private:
  void finish_all(const Result<void>& outcome) {
    std::deque<kafka::DeliveryCallback> held;
    {
      std::lock_guard lock(mutex_);
      held.swap(held_);
    }
    for (auto& done : held) {
      if (done) done(outcome);
    }
  }

  mutable std::mutex mutex_;
  std::vector<kafka::OutboundRecord> records_;
  std::deque<kafka::DeliveryCallback> held_;
  bool hold_ = false;
  int refuse_ = 0;
};

}  // namespace otp::testing
