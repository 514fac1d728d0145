#include "common/kafka/consumer.h"

#include "common/kafka/rdkafka_util.h"

#include <spdlog/spdlog.h>

namespace otp::kafka {

struct Consumer::Impl {
  rd_kafka_t* rk = nullptr;
  std::function<void(const std::vector<TopicPartition>&)> before_revoke;
  bool closed = false;

  ~Impl() {
    if (rk == nullptr) return;
    if (!closed) rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
  }
};

namespace {

struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* list) const {
    rd_kafka_topic_partition_list_destroy(list);
  }
};
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

std::vector<TopicPartition> to_vector(const rd_kafka_topic_partition_list_t* list) {
  std::vector<TopicPartition> out;
  for (int i = 0; i < list->cnt; ++i) {
    out.push_back({list->elems[i].topic, list->elems[i].partition});
  }
  return out;
}

void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                  rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  auto* impl = static_cast<Consumer::Impl*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    spdlog::info("kafka.assigned partitions={}", partitions->cnt);
    rd_kafka_assign(rk, partitions);
    return;
  }
  spdlog::info("kafka.revoked partitions={}", partitions->cnt);
  if (impl->before_revoke) impl->before_revoke(to_vector(partitions));
  // Commit what the owner stored before the partitions go to another member.
  rd_kafka_commit(rk, nullptr, /*async=*/0);
  // librdkafka keeps a partition's pause flag across an unassign: a partition revoked while a
  // retry had it paused (BackoffWaiter) would come back paused in a later assignment, after the
  // retry's resume_all had run on the empty assignment between the two, and never be read again.
  rd_kafka_resume_partitions(rk, partitions);
  rd_kafka_assign(rk, nullptr);
}

void on_error(rd_kafka_t* /*rk*/, int err, const char* reason, void* /*opaque*/) {
  spdlog::warn("kafka.consumer_error code={} reason=\"{}\"",
               rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)), reason);
}

Record copy_record(const rd_kafka_message_t* message) {
  Record record;
  record.topic = rd_kafka_topic_name(message->rkt);
  record.partition = message->partition;
  record.offset = message->offset;
  if (message->key != nullptr) {
    record.key.assign(static_cast<const char*>(message->key), message->key_len);
  }
  if (message->payload != nullptr) {
    record.value.assign(static_cast<const char*>(message->payload), message->len);
  }
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    for (size_t i = 0;
         rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      record.headers.emplace_back(name, value == nullptr
                                            ? std::string()
                                            : std::string(static_cast<const char*>(value), size));
    }
  }
  rd_kafka_timestamp_type_t type;
  auto ms = rd_kafka_message_timestamp(message, &type);
  if (ms >= 0) record.timestamp = from_unix_ms(ms);
  return record;
}

}  // namespace

std::optional<std::string> Record::header(std::string_view name) const {
  for (auto it = headers.rbegin(); it != headers.rend(); ++it) {
    if (it->first == name) return it->second;
  }
  return std::nullopt;
}

Consumer::Consumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Consumer::~Consumer() = default;

Result<std::unique_ptr<Consumer>> Consumer::create(const KafkaSettings& settings,
                                                   const std::string& group_id) {
  auto conf = detail::make_conf(settings, {
                                              {"group.id", group_id},
                                              {"enable.auto.commit", "true"},
                                              {"enable.auto.offset.store", "false"},
                                              {"auto.commit.interval.ms", "1000"},
                                              {"auto.offset.reset", "earliest"},
                                              {"enable.partition.eof", "false"},
                                              {"session.timeout.ms", "10000"},
                                              {"heartbeat.interval.ms", "1000"},
                                              {"max.poll.interval.ms", "300000"},
                                              {"fetch.wait.max.ms", "50"},
                                          });
  if (!conf) return tl::unexpected(conf.error());
  auto impl = std::make_unique<Impl>();
  rd_kafka_conf_set_opaque(conf->get(), impl.get());
  rd_kafka_conf_set_rebalance_cb(conf->get(), &on_rebalance);
  rd_kafka_conf_set_error_cb(conf->get(), &on_error);
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf->get(), errstr, sizeof errstr);
  if (rk == nullptr) return fail(Errc::kInvalidInput, std::string("kafka consumer: ") + errstr);
  (void)conf->release();
  rd_kafka_poll_set_consumer(rk);
  impl->rk = rk;
  return std::unique_ptr<Consumer>(new Consumer(std::move(impl)));
}

Result<void> Consumer::subscribe(const std::vector<std::string>& topics) {
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
  for (const auto& topic : topics) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), RD_KAFKA_PARTITION_UA);
  }
  if (auto err = rd_kafka_subscribe(impl_->rk, list.get()); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return tl::unexpected(detail::map_error(err, "subscribe"));
  }
  return {};
}

Result<void> Consumer::assign_from_end(const std::string& topic, std::int32_t partition) {
  PartitionList list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset =
      RD_KAFKA_OFFSET_END;
  if (auto err = rd_kafka_assign(impl_->rk, list.get()); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return tl::unexpected(detail::map_error(err, "assign " + topic));
  }
  return {};
}

void Consumer::on_revoke(std::function<void(const std::vector<TopicPartition>&)> listener) {
  impl_->before_revoke = std::move(listener);
}

Result<std::optional<Record>> Consumer::poll(std::chrono::milliseconds timeout) {
  rd_kafka_message_t* message =
      rd_kafka_consumer_poll(impl_->rk, static_cast<int>(timeout.count()));
  if (message == nullptr) return std::optional<Record>{};
  std::unique_ptr<rd_kafka_message_t, decltype(&rd_kafka_message_destroy)> owned(
      message, &rd_kafka_message_destroy);
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR)
    return std::optional<Record>(copy_record(message));
  if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF ||
      message->err == RD_KAFKA_RESP_ERR__TIMED_OUT) {
    return std::optional<Record>{};
  }
  // Fatal client errors end the process; everything else librdkafka recovers from itself.
  if (message->err == RD_KAFKA_RESP_ERR__FATAL) {
    char reason[512];
    rd_kafka_fatal_error(impl_->rk, reason, sizeof reason);
    return fail(Errc::kInternal, std::string("kafka fatal error: ") + reason);
  }
  spdlog::warn("kafka.consume_error code={}", rd_kafka_err2name(message->err));
  return std::optional<Record>{};
}

Result<void> Consumer::store_offset(const TopicPartition& partition, std::int64_t next_offset) {
  PartitionList list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), partition.topic.c_str(), partition.partition)
      ->offset = next_offset;
  if (auto err = rd_kafka_offsets_store(impl_->rk, list.get()); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return tl::unexpected(detail::map_error(err, "store offset " + partition.topic));
  }
  auto stored_err = list->elems[0].err;
  if (stored_err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    // Typically the partition was revoked meanwhile; its new owner reprocesses from the last
    // commit, which is safe because every handler is idempotent.
    return tl::unexpected(detail::map_error(stored_err, "store offset " + partition.topic));
  }
  return {};
}

namespace {

Result<void> set_paused(rd_kafka_t* rk, bool paused) {
  rd_kafka_topic_partition_list_t* raw = nullptr;
  if (auto err = rd_kafka_assignment(rk, &raw); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return tl::unexpected(detail::map_error(err, "assignment"));
  }
  PartitionList assigned(raw);
  auto err = paused ? rd_kafka_pause_partitions(rk, assigned.get())
                    : rd_kafka_resume_partitions(rk, assigned.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return tl::unexpected(detail::map_error(err, paused ? "pause" : "resume"));
  }
  return {};
}

}  // namespace

Result<void> Consumer::pause_all() { return set_paused(impl_->rk, true); }
Result<void> Consumer::resume_all() { return set_paused(impl_->rk, false); }

Result<void> Consumer::rewind_to(const Record& record) {
  PartitionList list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), record.topic.c_str(), record.partition)->offset =
      record.offset;
  rd_kafka_error_t* error = rd_kafka_seek_partitions(impl_->rk, list.get(), 5000);
  if (error != nullptr) {
    auto code = rd_kafka_error_code(error);
    rd_kafka_error_destroy(error);
    return tl::unexpected(detail::map_error(code, "seek " + record.topic));
  }
  return {};
}

void Consumer::close() {
  if (impl_->closed) return;
  impl_->closed = true;
  rd_kafka_consumer_close(impl_->rk);
}

}  // namespace otp::kafka
