#pragma once

#include "common/error/error.h"
#include "common/messages/types.h"

#include <cstdint>
#include <string>
#include <vector>

namespace otp::messages {

/// Header names shared by producers and consumers of the request/reply topics.
inline constexpr char kHeaderCorrelationId[] = "correlation_id";
inline constexpr char kHeaderReplyPartition[] = "reply_partition";
/// On a send request: also answer with the first delivery outcome, under this correlation id
/// (on `reply_partition`). The generator copies both onto the delivery job; the delivery worker
/// replies when the job reaches its final outcome.
inline constexpr char kHeaderDeliveryCorrelationId[] = "delivery_correlation_id";
/// Dead-letter headers: why a record was parked, and where it came from.
inline constexpr char kHeaderDlqReason[] = "dlq_reason";
inline constexpr char kHeaderDlqErrorCode[] = "dlq_error_code";
inline constexpr char kHeaderDlqSourceTopic[] = "dlq_source_topic";
inline constexpr char kHeaderDlqSourcePartition[] = "dlq_source_partition";
inline constexpr char kHeaderDlqSourceOffset[] = "dlq_source_offset";
inline constexpr char kHeaderDlqStage[] = "dlq_stage";

/// A topic with the partition count `otpctl topics ensure` creates it with.
struct TopicSpec {
  std::string name;
  std::int32_t partitions;
  /// retention.ms, or 0 for the broker default.
  std::int64_t retention_ms = 0;
};

/// Every topic name of the pipeline, derived from one prefix (default `otp.`) so that a test or a
/// second environment can run on the same broker with its own topics. Cheap to copy.
struct Topics {
  std::string send_requests;
  std::string verify_requests;
  std::string replies;
  std::string delivery_email;
  std::string delivery_sms;
  std::string delivery_whatsapp;
  std::string delivery_retry;
  std::string events;
  std::string dlq;

  static Topics with_prefix(const std::string& prefix);
  [[nodiscard]] const std::string& delivery(Channel channel) const;
  /// Every topic with its default partition count: the single source of truth for topic
  /// creation.
  [[nodiscard]] std::vector<TopicSpec> specs() const;
};

/// `specs` with the partition counts of `overrides` (OTP_TOPIC_PARTITIONS), a comma-separated
/// list of `name=count` where name is a topic's name without the prefix (`send-requests`,
/// `events`, `delivery.sms`...) and count is 1 to 1000. Empty: the defaults. kInvalidInput for
/// an unknown name, a bad count, or `replies`, whose count is the bound of OTP_INTAKE_INSTANCE
/// and stays fixed. docs/operations.md, "Partitions".
[[nodiscard]] Result<std::vector<TopicSpec>> with_partitions(std::vector<TopicSpec> specs,
                                                             const std::string& prefix,
                                                             const std::string& overrides);

}  // namespace otp::messages
