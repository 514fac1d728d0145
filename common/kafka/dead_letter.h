#pragma once

#include "common/error/error.h"
#include "common/kafka/record.h"

#include <string>
#include <string_view>

namespace otp::kafka {

/// The record that parks `poison` in the dead-letter topic: the original key, value and headers,
/// plus `dlq_*` headers saying why (`error`), where from (topic, partition, offset) and which
/// stage refused it. `otpctl dlq redrive` republishes the original bytes to `dlq_source_topic`.
[[nodiscard]] OutboundRecord dead_letter_record(const Record& poison, const Error& error,
                                                std::string_view stage,
                                                const std::string& dlq_topic);

}  // namespace otp::kafka
