#pragma once

// Internal to common/kafka: the one place librdkafka types meet ours. Not installed elsewhere.

#include "common/error/error.h"
#include "common/kafka/record.h"

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace otp::kafka::detail {

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

/// Builds a configuration from defaults, the settings and their extra properties (applied last).
Result<ConfPtr> make_conf(const KafkaSettings& settings,
                          const std::vector<std::pair<std::string, std::string>>& defaults);

/// The single mapping from librdkafka error codes to `Errc`.
Error map_error(rd_kafka_resp_err_t err, const std::string& context);

}  // namespace otp::kafka::detail
