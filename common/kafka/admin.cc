#include "common/kafka/admin.h"

#include "common/kafka/rdkafka_util.h"

#include <spdlog/spdlog.h>

namespace otp::kafka {

Result<void> ensure_topics(const KafkaSettings& settings,
                           const std::vector<messages::TopicSpec>& topics, int replication_factor,
                           std::chrono::milliseconds timeout) {
  auto conf = detail::make_conf(settings, {});
  if (!conf) return tl::unexpected(conf.error());
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf->get(), errstr, sizeof errstr);
  if (rk == nullptr) return fail(Errc::kInvalidInput, std::string("kafka admin: ") + errstr);
  (void)conf->release();
  std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)> owned(rk, &rd_kafka_destroy);

  std::vector<rd_kafka_NewTopic_t*> requests;
  auto destroy_requests = [&] {
    rd_kafka_NewTopic_destroy_array(requests.data(), requests.size());
  };
  for (const auto& topic : topics) {
    auto* request = rd_kafka_NewTopic_new(topic.name.c_str(), topic.partitions, replication_factor,
                                          errstr, sizeof errstr);
    if (request == nullptr) {
      destroy_requests();
      return fail(Errc::kInvalidInput, "topic " + topic.name + ": " + errstr);
    }
    if (topic.retention_ms > 0) {
      rd_kafka_NewTopic_set_config(request, "retention.ms",
                                   std::to_string(topic.retention_ms).c_str());
    }
    requests.push_back(request);
  }

  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(options, static_cast<int>(timeout.count()), errstr,
                                              sizeof errstr);
  rd_kafka_AdminOptions_set_request_timeout(options, static_cast<int>(timeout.count()), errstr,
                                            sizeof errstr);
  rd_kafka_CreateTopics(rk, requests.data(), requests.size(), options, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, static_cast<int>(timeout.count()) + 1000);

  Result<void> outcome;
  if (event == nullptr) {
    outcome = fail(Errc::kTimeout, "create topics: no answer from the broker");
  } else if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    outcome = tl::unexpected(detail::map_error(rd_kafka_event_error(event), "create topics"));
  } else {
    const auto* result = rd_kafka_event_CreateTopics_result(event);
    size_t count = 0;
    const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &count);
    for (size_t i = 0; i < count; ++i) {
      auto err = rd_kafka_topic_result_error(results[i]);
      const char* name = rd_kafka_topic_result_name(results[i]);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        spdlog::info("kafka.topic_created topic={}", name);
      } else if (err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS && outcome) {
        outcome = tl::unexpected(detail::map_error(err, std::string("create topic ") + name));
      }
    }
  }
  if (event != nullptr) rd_kafka_event_destroy(event);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_queue_destroy(queue);
  destroy_requests();
  return outcome;
}

}  // namespace otp::kafka
