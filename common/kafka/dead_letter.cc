#include "common/kafka/dead_letter.h"

#include "common/messages/topics.h"

namespace otp::kafka {

OutboundRecord dead_letter_record(const Record& poison, const Error& error, std::string_view stage,
                                  const std::string& dlq_topic) {
  OutboundRecord out{.topic = dlq_topic,
                     .key = poison.key,
                     .value = poison.value,
                     .headers = poison.headers,
                     .partition = std::nullopt};
  out.headers.emplace_back(messages::kHeaderDlqReason, error.message);
  out.headers.emplace_back(messages::kHeaderDlqErrorCode, std::string(to_string(error.code)));
  out.headers.emplace_back(messages::kHeaderDlqSourceTopic, poison.topic);
  out.headers.emplace_back(messages::kHeaderDlqSourcePartition, std::to_string(poison.partition));
  out.headers.emplace_back(messages::kHeaderDlqSourceOffset, std::to_string(poison.offset));
  out.headers.emplace_back(messages::kHeaderDlqStage, std::string(stage));
  return out;
}

}  // namespace otp::kafka
