#pragma once

#include "common/time/clock.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace otp::kafka {

using Header = std::pair<std::string, std::string>;

/// One consumed Kafka record, copied out of librdkafka so that logic never sees its types.
struct Record {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string key;
  std::string value;
  std::vector<Header> headers;
  TimePoint timestamp{};

  /// The last header with this name, if any.
  [[nodiscard]] std::optional<std::string> header(std::string_view name) const;
};

/// One record to produce. Without `partition`, the partitioner hashes `key` (murmur2, like the
/// Java client, so other clients' records with the same key land on the same partition).
struct OutboundRecord {
  std::string topic;
  std::string key;
  std::string value;
  std::vector<Header> headers;
  std::optional<std::int32_t> partition;
};

/// Librdkafka settings shared by producers and consumers of one process.
struct KafkaSettings {
  std::string brokers;
  std::string client_id;
  /// Extra librdkafka properties, applied last (e.g. from OTP_KAFKA_PROPERTIES).
  std::vector<std::pair<std::string, std::string>> properties;
};

}  // namespace otp::kafka
