#pragma once

#include "common/kafka/producer.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace otp::kafka {

/// A `Producer` that sends the records of some topics through one producer and every other
/// record through another: the generator's replies, which a client waits for, go through a
/// producer that sends within a millisecond or two; its events and delivery jobs, which nobody
/// waits for, through one that gathers them for longer into larger batches (fewer produce
/// requests, wake-ups and log appends for the broker). Order is kept per partition, because a
/// topic always goes through the same producer. Both producers must outlive this one.
class SplitProducer final : public Producer {
 public:
  SplitProducer(Producer& urgent, std::vector<std::string> urgent_topics, Producer& rest)
      : urgent_(urgent), urgent_topics_(urgent_topics.begin(), urgent_topics.end()), rest_(rest) {}

  [[nodiscard]] Result<void> produce(const OutboundRecord& record, DeliveryCallback done) override {
    return (urgent_topics_.contains(record.topic) ? urgent_ : rest_)
        .produce(record, std::move(done));
  }

  /// Flushes both within `timeout` in all (urgent first: the shorter wait).
  bool flush(std::chrono::milliseconds timeout) override {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const bool urgent_done = urgent_.flush(timeout);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    const bool rest_done = rest_.flush(std::max(left, std::chrono::milliseconds(0)));
    return urgent_done && rest_done;
  }

 private:
  Producer& urgent_;
  std::unordered_set<std::string> urgent_topics_;
  Producer& rest_;
};

}  // namespace otp::kafka
