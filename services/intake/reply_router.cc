#include "services/intake/reply_router.h"

#include "common/messages/messages.h"

#include <spdlog/spdlog.h>

namespace otp::intake {

ReplyRouter::ReplyRouter(kafka::Consumer& consumer, kafka::Producer& producer,
                         PendingReplies& pending, Rng& rng, Settings settings)
    : consumer_(consumer),
      producer_(producer),
      pending_(pending),
      settings_(std::move(settings)),
      nonce_(random_hex(rng, 8)) {}

ReplyRouter::~ReplyRouter() { stop(); }

Result<void> ReplyRouter::start() {
  if (auto assigned = consumer_.assign_from_end(settings_.topic, settings_.partition); !assigned) {
    return assigned;
  }
  spdlog::info("intake.replies_assigned topic={} partition={}", settings_.topic,
               settings_.partition);
  thread_ = std::jthread([this](const std::stop_token& stop) { run(stop); });
  return {};
}

bool ReplyRouter::wait_positioned(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // Start-up only, once per process: a short sleep loop is simpler than a condition variable.
  while (!positioned_.load() && !failed_.load()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return positioned_.load();
}

void ReplyRouter::begin_drain() noexcept { draining_ = true; }

void ReplyRouter::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
  consumer_.close();
}

bool ReplyRouter::failed() const noexcept { return failed_.load(); }

bool ReplyRouter::accepting_requests() const {
  return positioned_.load() && !draining_.load() && !failed_.load();
}

std::optional<std::string> ReplyRouter::unready_reason() const {
  if (failed_.load()) return "reply consumer failed";
  if (draining_.load()) return "shutting down";
  if (!positioned_.load()) return "reply consumer not positioned yet";
  const auto last = SteadyTime(SteadyTime::duration(last_round_trip_.load()));
  const auto since = std::chrono::steady_clock::now() - last;
  if (since > settings_.ready_window) {
    return "no Kafka round trip in the last " +
           std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(since).count()) +
           " ms";
  }
  return std::nullopt;
}

void ReplyRouter::run(const std::stop_token& stop) {
  while (!stop.stop_requested()) {
    send_probe_if_due(std::chrono::steady_clock::now());
    auto polled = consumer_.poll(settings_.poll_timeout);
    if (!polled) {
      spdlog::error("intake.reply_consumer_failed reason=\"{}\"", polled.error().message);
      failed_ = true;
      return;
    }
    if (*polled) route(**polled);
  }
}

void ReplyRouter::send_probe_if_due(SteadyTime now) {
  const auto interval = positioned_.load() ? settings_.probe_interval : settings_.probe_retry;
  if (last_probe_sent_ && now - *last_probe_sent_ < interval) return;
  last_probe_sent_ = now;
  kafka::OutboundRecord probe{
      .topic = settings_.topic,
      .key = "probe",
      .value = "",
      .headers = {{kHeaderProbe, nonce_ + ":" + std::to_string(++probes_sent_)}},
      .partition = settings_.partition,
  };
  auto enqueued = producer_.produce(probe, [](const Result<void>& delivered) {
    if (!delivered) spdlog::debug("intake.probe_failed reason=\"{}\"", delivered.error().message);
  });
  if (!enqueued) spdlog::debug("intake.probe_failed reason=\"{}\"", enqueued.error().message);
}

void ReplyRouter::route(const kafka::Record& record) {
  if (auto probe = record.header(kHeaderProbe)) {
    if (probe->rfind(nonce_ + ":", 0) != 0) return;  // another process's probe
    last_round_trip_ = std::chrono::steady_clock::now().time_since_epoch().count();
    if (!positioned_.exchange(true)) {
      spdlog::info("intake.replies_positioned topic={} partition={} offset={}", record.topic,
                   record.partition, record.offset);
    }
    return;
  }
  auto reply = messages::decode_reply(record.value);
  if (!reply) {
    spdlog::warn("intake.reply_invalid partition={} offset={} reason=\"{}\"", record.partition,
                 record.offset, reply.error().message);
    return;
  }
  if (!pending_.complete(*reply)) {
    spdlog::debug("intake.reply_unmatched correlation_id={} verification_id={}",
                  reply->correlation_id, reply->verification_id);
  }
}

}  // namespace otp::intake
