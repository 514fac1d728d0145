#pragma once

#include "common/error/error.h"
#include "common/kafka/record.h"

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace otp::kafka {

/// Called exactly once per produced record, on the producer's delivery thread, when the broker
/// acknowledged it (acks=all) or when librdkafka gave up on it.
using DeliveryCallback = std::function<void(const Result<void>& outcome)>;

/// The seam for producing. Tests use `InMemoryProducer` (tests/support); processes use
/// `KafkaProducer`. Implementations are thread-safe.
class Producer {
 public:
  virtual ~Producer() = default;
  /// Enqueues `record`. An error here (queue full, unknown topic, broker down for longer than the
  /// message timeout) means `done` will not be called.
  [[nodiscard]] virtual Result<void> produce(const OutboundRecord& record,
                                             DeliveryCallback done) = 0;
  /// Waits until every enqueued record is acknowledged or failed; false on timeout.
  virtual bool flush(std::chrono::milliseconds timeout) = 0;
};

/// An idempotent librdkafka producer (`enable.idempotence=true`, `acks=all`) with its own thread
/// that serves delivery reports. Destruction flushes for up to 10 s, then stops that thread.
class KafkaProducer final : public Producer {
 public:
  static Result<std::unique_ptr<KafkaProducer>> create(const KafkaSettings& settings);
  ~KafkaProducer() override;
  KafkaProducer(const KafkaProducer&) = delete;
  KafkaProducer& operator=(const KafkaProducer&) = delete;

  [[nodiscard]] Result<void> produce(const OutboundRecord& record, DeliveryCallback done) override;
  bool flush(std::chrono::milliseconds timeout) override;

  /// Fetches the metadata of `topics` now, so the first record produced to each does not wait for
  /// librdkafka's periodic metadata refresh (about a second). Call at start-up; an error means a
  /// topic is unknown or the broker did not answer in `timeout`.
  [[nodiscard]] Result<void> warm_up(const std::vector<std::string>& topics,
                                     std::chrono::milliseconds timeout);

  struct Impl;

 private:
  explicit KafkaProducer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Produces every record and waits for all acknowledgements: for tools and tests, not hot paths.
[[nodiscard]] Result<void> publish_and_wait(Producer& producer,
                                            std::span<const OutboundRecord> records,
                                            std::chrono::milliseconds timeout);

}  // namespace otp::kafka
