#pragma once

#include "common/error/error.h"
#include "common/kafka/record.h"
#include "common/messages/topics.h"

#include <chrono>
#include <vector>

namespace otp::kafka {

/// Creates each topic that does not exist yet with its partition count and retention (replication
/// factor 1 unless `replication_factor` says otherwise). Existing topics are left as they are.
[[nodiscard]] Result<void> ensure_topics(const KafkaSettings& settings,
                                         const std::vector<messages::TopicSpec>& topics,
                                         int replication_factor, std::chrono::milliseconds timeout);

}  // namespace otp::kafka
