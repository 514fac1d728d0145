#include "common/kafka/producer.h"

#include "common/kafka/rdkafka_util.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace otp::kafka {

struct KafkaProducer::Impl {
  rd_kafka_t* rk = nullptr;
  std::atomic<bool> stopping{false};
  std::thread poller;

  ~Impl() {
    if (rk == nullptr) return;
    rd_kafka_flush(rk, 10000);
    stopping = true;
    if (poller.joinable()) poller.join();
    rd_kafka_destroy(rk);
  }
};

namespace {

// Each produced record carries a heap-allocated callback as its opaque; the delivery report
// callback runs it once and frees it.
void on_delivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* message, void* /*opaque*/) {
  auto* done = static_cast<DeliveryCallback*>(message->_private);
  if (done == nullptr) return;
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    (*done)(tl::unexpected(detail::map_error(
        message->err, "delivery to " + std::string(rd_kafka_topic_name(message->rkt)))));
  } else {
    (*done)(Result<void>{});
  }
  delete done;
}

void on_error(rd_kafka_t* /*rk*/, int err, const char* reason, void* /*opaque*/) {
  // Broker-down and similar errors are transient: librdkafka retries by itself.
  spdlog::warn("kafka.producer_error code={} reason=\"{}\"",
               rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)), reason);
}

}  // namespace

KafkaProducer::KafkaProducer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KafkaProducer::~KafkaProducer() = default;

Result<std::unique_ptr<KafkaProducer>> KafkaProducer::create(const KafkaSettings& settings) {
  auto conf = detail::make_conf(settings, {
                                              {"enable.idempotence", "true"},
                                              {"acks", "all"},
                                              {"linger.ms", "2"},
                                              {"compression.type", "lz4"},
                                              {"message.timeout.ms", "30000"},
                                              {"partitioner", "murmur2_random"},
                                          });
  if (!conf) return tl::unexpected(conf.error());
  rd_kafka_conf_set_dr_msg_cb(conf->get(), &on_delivery);
  rd_kafka_conf_set_error_cb(conf->get(), &on_error);
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf->get(), errstr, sizeof errstr);
  if (rk == nullptr) return fail(Errc::kInvalidInput, std::string("kafka producer: ") + errstr);
  (void)conf->release();  // owned by rk now

  auto impl = std::make_unique<Impl>();
  impl->rk = rk;
  Impl* raw = impl.get();
  impl->poller = std::thread([raw] {
    while (!raw->stopping.load()) rd_kafka_poll(raw->rk, 50);
  });
  return std::unique_ptr<KafkaProducer>(new KafkaProducer(std::move(impl)));
}

Result<void> KafkaProducer::produce(const OutboundRecord& record, DeliveryCallback done) {
  rd_kafka_headers_t* headers = rd_kafka_headers_new(record.headers.size());
  for (const auto& [name, value] : record.headers) {
    rd_kafka_header_add(headers, name.data(), static_cast<ssize_t>(name.size()), value.data(),
                        static_cast<ssize_t>(value.size()));
  }
  auto* callback = done ? new DeliveryCallback(std::move(done)) : nullptr;
  // The C API takes non-const pointers but copies the payload (RD_KAFKA_MSG_F_COPY).
  std::array<rd_kafka_vu_t, 7> args{};
  args[0].vtype = RD_KAFKA_VTYPE_TOPIC;
  args[0].u.cstr = record.topic.c_str();
  args[1].vtype = RD_KAFKA_VTYPE_PARTITION;
  args[1].u.i32 = record.partition.value_or(RD_KAFKA_PARTITION_UA);
  args[2].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
  args[2].u.i = RD_KAFKA_MSG_F_COPY;
  args[3].vtype = RD_KAFKA_VTYPE_KEY;
  args[3].u.mem.ptr = const_cast<char*>(record.key.data());
  args[3].u.mem.size = record.key.size();
  args[4].vtype = RD_KAFKA_VTYPE_VALUE;
  args[4].u.mem.ptr = const_cast<char*>(record.value.data());
  args[4].u.mem.size = record.value.size();
  args[5].vtype = RD_KAFKA_VTYPE_HEADERS;
  args[5].u.headers = headers;
  args[6].vtype = RD_KAFKA_VTYPE_OPAQUE;
  args[6].u.ptr = callback;
  rd_kafka_error_t* error = rd_kafka_produceva(impl_->rk, args.data(), args.size());
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (error != nullptr) {
    err = rd_kafka_error_code(error);
    rd_kafka_error_destroy(error);
  }
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_headers_destroy(headers);  // ownership passes to librdkafka only on success
    delete callback;
    return tl::unexpected(detail::map_error(err, "produce to " + record.topic));
  }
  return {};
}

bool KafkaProducer::flush(std::chrono::milliseconds timeout) {
  return rd_kafka_flush(impl_->rk, static_cast<int>(timeout.count())) == RD_KAFKA_RESP_ERR_NO_ERROR;
}

Result<void> KafkaProducer::warm_up(const std::vector<std::string>& topics,
                                    std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (const auto& topic : topics) {
    std::unique_ptr<rd_kafka_topic_t, decltype(&rd_kafka_topic_destroy)> handle(
        rd_kafka_topic_new(impl_->rk, topic.c_str(), nullptr), &rd_kafka_topic_destroy);
    if (!handle) return fail(Errc::kInvalidInput, "kafka: bad topic name " + topic);
    // A topic created moments ago may report no leader yet: ask again until the deadline.
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      const rd_kafka_metadata_t* metadata = nullptr;
      auto err = rd_kafka_metadata(impl_->rk, 0, handle.get(), &metadata,
                                   static_cast<int>(std::max<std::int64_t>(left.count(), 1)));
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        err = metadata->topic_cnt > 0 ? metadata->topics[0].err
                                      : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR && metadata->topics[0].partition_cnt == 0) {
          err = RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE;
        }
        rd_kafka_metadata_destroy(metadata);
      }
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (std::chrono::steady_clock::now() + std::chrono::milliseconds(100) >= deadline) {
        return tl::unexpected(detail::map_error(err, "metadata for " + topic));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  return {};
}

Result<void> publish_and_wait(Producer& producer, std::span<const OutboundRecord> records,
                              std::chrono::milliseconds timeout) {
  struct State {
    std::mutex mutex;
    std::condition_variable done;
    std::size_t pending = 0;
    std::optional<Error> first_error;
  };
  auto state = std::make_shared<State>();
  for (const auto& record : records) {
    {
      std::lock_guard lock(state->mutex);
      ++state->pending;
    }
    auto enqueued = producer.produce(record, [state](const Result<void>& outcome) {
      std::lock_guard lock(state->mutex);
      if (!outcome && !state->first_error) state->first_error = outcome.error();
      if (--state->pending == 0) state->done.notify_all();
    });
    if (!enqueued) {
      std::lock_guard lock(state->mutex);
      --state->pending;
      return tl::unexpected(enqueued.error());
    }
  }
  std::unique_lock lock(state->mutex);
  if (!state->done.wait_for(lock, timeout, [&] { return state->pending == 0; })) {
    return fail(Errc::kTimeout, "kafka: records not acknowledged in time");
  }
  if (state->first_error) return tl::unexpected(*state->first_error);
  return {};
}

}  // namespace otp::kafka
