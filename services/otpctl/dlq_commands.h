#pragma once

#include "common/kafka/record.h"
#include "common/messages/topics.h"

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace otp::otpctl {

/// `otpctl dlq list [--limit N]` and `otpctl dlq redrive [--topic T] [--limit N]`; `args` are the
/// words after `dlq`. Environment: OTP_KAFKA_BROKERS (required), OTP_TOPIC_PREFIX. Returns the
/// process exit code (2: usage).
[[nodiscard]] int dlq_command(const std::vector<std::string>& args);

/// One line describing a dead-lettered record for an operator: where it came from, why, and the
/// ids of a delivery job (never its sealed code or its recipient); other payloads by size only.
[[nodiscard]] std::string describe_dead_letter(const kafka::Record& record);

/// The record `redrive` publishes for `parked`: its key, value and headers without the `dlq_*`
/// ones, to `dlq_source_topic`; nullopt if that header is missing or `only_topic` is set and
/// differs.
[[nodiscard]] std::optional<kafka::OutboundRecord> redrive_record(
    const kafka::Record& parked, const std::optional<std::string>& only_topic);

}  // namespace otp::otpctl
