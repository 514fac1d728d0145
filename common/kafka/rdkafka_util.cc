#include "common/kafka/rdkafka_util.h"

#include <spdlog/spdlog.h>

namespace otp::kafka::detail {
namespace {

// librdkafka's own diagnostics go through the process logger, as structured lines.
void on_log(const rd_kafka_t* /*rk*/, int level, const char* facility, const char* message) {
  auto severity = level <= 3   ? spdlog::level::err
                  : level <= 4 ? spdlog::level::warn
                  : level <= 6 ? spdlog::level::info
                               : spdlog::level::debug;
  spdlog::log(severity, "kafka.client facility={} message=\"{}\"", facility, message);
}

}  // namespace

Result<ConfPtr> make_conf(const KafkaSettings& settings,
                          const std::vector<std::pair<std::string, std::string>>& defaults) {
  ConfPtr conf(rd_kafka_conf_new());
  rd_kafka_conf_set_log_cb(conf.get(), &on_log);
  char errstr[512];
  auto set = [&](const std::string& key, const std::string& value) -> Result<void> {
    if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
      return fail(Errc::kInvalidInput, "kafka property " + key + ": " + errstr);
    }
    return {};
  };
  std::vector<std::pair<std::string, std::string>> all = {
      {"bootstrap.servers", settings.brokers},
      {"client.id", settings.client_id.empty() ? "otp" : settings.client_id},
  };
  all.insert(all.end(), defaults.begin(), defaults.end());
  all.insert(all.end(), settings.properties.begin(), settings.properties.end());
  for (const auto& [key, value] : all) {
    if (auto done = set(key, value); !done) return tl::unexpected(done.error());
  }
  return conf;
}

Error map_error(rd_kafka_resp_err_t err, const std::string& context) {
  std::string message = context + ": " + rd_kafka_err2str(err);
  switch (err) {
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
      return Error{Errc::kTimeout, std::move(message)};
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
      return Error{Errc::kRateLimited, std::move(message)};
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
      return Error{Errc::kUnavailable, std::move(message)};
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
      return Error{Errc::kInvalidInput, std::move(message)};
    default:
      return Error{Errc::kUnavailable, std::move(message)};
  }
}

}  // namespace otp::kafka::detail
