// otp-lag: consumer lag of the pipeline's consumer groups, for the end of a load run.
//
//   otp-lag BROKERS GROUP=TOPIC[,TOPIC...] ...
// prints {"GROUP": {"TOPIC": lag, ...}, ...} as JSON, where lag is the sum over partitions of
// (high watermark - committed offset); a partition with nothing committed counts from its low
// watermark. Reads committed offsets without joining the group.

#include <librdkafka/rdkafka.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace {

constexpr int kTimeoutMs = 10'000;

using Handle = std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)>;
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t,
                                      decltype(&rd_kafka_topic_partition_list_destroy)>;

Handle consumer_for(const std::string& brokers, const std::string& group) {
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), error, sizeof error);
  rd_kafka_conf_set(conf, "group.id", group.c_str(), error, sizeof error);
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", error, sizeof error);
  rd_kafka_t* handle = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error);
  if (handle == nullptr) {
    std::fprintf(stderr, "otp-lag: %s\n", error);
    std::exit(1);
  }
  return Handle(handle, &rd_kafka_destroy);
}

std::vector<int> partitions_of(rd_kafka_t* handle, const std::string& topic) {
  const rd_kafka_metadata_t* metadata = nullptr;
  rd_kafka_topic_t* named = rd_kafka_topic_new(handle, topic.c_str(), nullptr);
  std::vector<int> partitions;
  if (rd_kafka_metadata(handle, 0, named, &metadata, kTimeoutMs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int t = 0; t < metadata->topic_cnt; ++t) {
      for (int p = 0; p < metadata->topics[t].partition_cnt; ++p) {
        partitions.push_back(metadata->topics[t].partitions[p].id);
      }
    }
    rd_kafka_metadata_destroy(metadata);
  }
  rd_kafka_topic_destroy(named);
  return partitions;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fputs("usage: otp-lag BROKERS GROUP=TOPIC[,TOPIC...] ...\n", stderr);
    return 2;
  }
  const std::string brokers = argv[1];
  nlohmann::json report = nlohmann::json::object();
  for (int i = 2; i < argc; ++i) {
    const std::string spec = argv[i];
    const auto eq = spec.find('=');
    if (eq == std::string::npos) {
      std::fprintf(stderr, "otp-lag: expected GROUP=TOPIC[,TOPIC], got %s\n", spec.c_str());
      return 2;
    }
    const std::string group = spec.substr(0, eq);
    Handle handle = consumer_for(brokers, group);
    std::size_t start = eq + 1;
    while (start <= spec.size()) {
      auto end = spec.find(',', start);
      if (end == std::string::npos) end = spec.size();
      const std::string topic = spec.substr(start, end - start);
      start = end + 1;
      PartitionList list(rd_kafka_topic_partition_list_new(8),
                         &rd_kafka_topic_partition_list_destroy);
      for (int partition : partitions_of(handle.get(), topic)) {
        rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition);
      }
      if (rd_kafka_committed(handle.get(), list.get(), kTimeoutMs) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        report[group][topic] = nullptr;
        continue;
      }
      long long lag = 0;
      for (int p = 0; p < list->cnt; ++p) {
        const auto& entry = list->elems[p];
        int64_t low = 0;
        int64_t high = 0;
        rd_kafka_query_watermark_offsets(handle.get(), topic.c_str(), entry.partition, &low, &high,
                                         kTimeoutMs);
        const int64_t from = entry.offset >= 0 ? entry.offset : low;
        lag += high > from ? high - from : 0;
      }
      report[group][topic] = lag;
    }
  }
  std::printf("%s\n", report.dump().c_str());
  return 0;
}
