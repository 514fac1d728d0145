#include "services/delivery/engine/delivery_engine.h"

#include "common/kafka/dead_letter.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

namespace otp::delivery {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kDeferAtLeast{250};
constexpr std::size_t kPollBatch = 256;

bool contains(const std::vector<kafka::TopicPartition>& partitions,
              const kafka::TopicPartition& partition) {
  return std::find(partitions.begin(), partitions.end(), partition) != partitions.end();
}

}  // namespace

struct DeliveryEngine::Feed {
  explicit Feed(Source from) : source(from) {}
  Source source;
  kafka::Consumer* consumer = nullptr;
  kafka::OffsetTracker tracker;
  bool paused = false;
  std::size_t pending = 0;                            ///< jobs of this feed taken and not finished
  std::optional<SteadyClock::time_point> full_since;  ///< not polled since (at its limit)
};

struct DeliveryEngine::Job {
  Delivery delivery;
  Source source = Source::kJobs;
  kafka::TopicPartition partition;
  std::shared_ptr<kafka::OffsetTracker::Pending> pending;
  std::shared_ptr<Feed> feed;
  std::optional<PreparedMessage> prepared;
  SteadyClock::time_point started{};
  std::size_t provider = 0;
};

struct DeliveryEngine::Inbox {
  std::mutex mutex;
  std::vector<std::pair<std::shared_ptr<Job>, Result<ProviderReceipt>>> results;
};

struct DeliveryEngine::Provider {
  explicit Provider(ProviderSlot slot)
      : api(std::move(slot.provider)),
        name(api->name()),
        pacer(slot.rate_per_second, slot.burst),
        breaker(slot.breaker) {}
  std::shared_ptr<AsyncProvider> api;
  std::string name;
  Pacer pacer;
  CircuitBreaker breaker;
};

namespace {

/// The outputs of one finished record share one acknowledgement count: its offset may be stored
/// once the last one is acknowledged. Holds the feed (and so its tracker) for late
/// acknowledgements.
struct Acks {
  std::shared_ptr<void> owner;
  kafka::OffsetTracker* tracker = nullptr;
  std::shared_ptr<kafka::OffsetTracker::Pending> pending;
  std::atomic<std::size_t> left{0};
};

}  // namespace

struct DeliveryEngine::PendingOutput {
  kafka::OutboundRecord record;
  std::shared_ptr<Acks> acks;
};

DeliveryEngine::DeliveryEngine(DeliveryStage& stage, std::vector<ProviderSlot> providers,
                               kafka::Producer& producer, const Clock& clock, EngineOptions options)
    : stage_(stage),
      producer_(producer),
      clock_(clock),
      options_(std::move(options)),
      jobs_feed_(std::make_shared<Feed>(Source::kJobs)),
      retries_feed_(std::make_shared<Feed>(Source::kRetries)),
      inbox_(std::make_shared<Inbox>()) {
  for (auto& slot : providers) providers_.push_back(std::make_unique<Provider>(std::move(slot)));
  if (options_.concurrency == 0) options_.concurrency = 1;
}

DeliveryEngine::~DeliveryEngine() = default;

EngineStats DeliveryEngine::stats() const {
  std::lock_guard lock(stats_mutex_);
  return stats_;
}

Result<void> DeliveryEngine::run(kafka::Consumer& jobs, kafka::Consumer& retries,
                                 const std::atomic<bool>& stop) {
  jobs_feed_->consumer = &jobs;
  retries_feed_->consumer = &retries;
  jobs.on_revoke([this](const auto& revoked) { revoke(*jobs_feed_, revoked); });
  retries.on_revoke([this](const auto& revoked) { revoke(*retries_feed_, revoked); });

  while (!stop.load() && !fatal_) {
    if (auto failure = jobs_feed_->tracker.failure()) fatal_ = failure;
    if (auto failure = retries_feed_->tracker.failure()) fatal_ = failure;
    if (fatal_) break;
    handle_completions();
    release_due_jobs();
    dispatch_ready();
    produce_pending();
    store_offsets(*jobs_feed_);
    store_offsets(*retries_feed_);
    update_back_pressure(*jobs_feed_);
    update_back_pressure(*retries_feed_);

    bool results_waiting = false;
    {
      std::lock_guard lock(inbox_->mutex);
      results_waiting = !inbox_->results.empty();
    }
    const bool can_dispatch = !ready_.empty() && flying_.size() < options_.concurrency;
    auto timeout = options_.idle_poll;
    if (results_waiting || can_dispatch) {
      timeout = milliseconds(0);
    } else if (!flying_.empty() || !unproduced_.empty()) {
      timeout = milliseconds(2);  // results arrive on other threads: look again soon
    }
    if (!waiting_.empty()) {
      auto due = std::chrono::ceil<milliseconds>(waiting_.begin()->first - clock_.now());
      timeout = std::clamp(due, milliseconds(0), timeout);
    }
    // A full feed is not polled at all: its next records stay in librdkafka's queue.
    const std::size_t jobs_room = room(*jobs_feed_);
    const std::size_t retries_room = room(*retries_feed_);
    if (jobs_room > 0) poll_feed(jobs_feed_, timeout, jobs_room);
    if (retries_room > 0) {
      poll_feed(retries_feed_, jobs_room > 0 ? milliseconds(0) : timeout, retries_room);
    }
    if (jobs_room == 0 && retries_room == 0) std::this_thread::sleep_for(timeout);
  }

  // Stop: no new sends; let the ones in flight finish so their outcomes are recorded.
  drain([this] { return flying_.empty(); }, options_.drain_timeout);
  if (!flying_.empty()) {
    spdlog::warn("{}.drain_timeout in_flight={}", options_.stage_name, flying_.size());
  }
  ready_.clear();  // never stored: the next run picks them up again
  waiting_.clear();
  if (!producer_.flush(std::chrono::seconds(30))) {
    spdlog::warn("{}.flush_timeout", options_.stage_name);
  }
  store_offsets(*jobs_feed_);
  store_offsets(*retries_feed_);
  jobs.close();
  retries.close();
  jobs_feed_->consumer = nullptr;
  retries_feed_->consumer = nullptr;
  if (fatal_) return tl::unexpected(*fatal_);
  if (auto failure = jobs_feed_->tracker.failure()) return tl::unexpected(*failure);
  if (auto failure = retries_feed_->tracker.failure()) return tl::unexpected(*failure);
  return {};
}

void DeliveryEngine::poll_feed(const std::shared_ptr<Feed>& feed, milliseconds timeout,
                               std::size_t max_records) {
  for (std::size_t n = 0; n < max_records; ++n) {
    auto polled = feed->consumer->poll(n == 0 ? timeout : milliseconds(0));
    if (!polled) {
      fatal_ = polled.error();
      return;
    }
    if (!*polled) return;
    take_record(feed, **polled);
  }
}

void DeliveryEngine::take_record(const std::shared_ptr<Feed>& feed, const kafka::Record& record) {
  if (feed->paused) {
    // Fetched before the pause, or from a partition assigned since: read it again later.
    if (auto rewound = feed->consumer->rewind_to(record); !rewound) {
      spdlog::warn("{}.rewind_failed topic={} partition={} offset={} error=\"{}\"",
                   options_.stage_name, record.topic, record.partition, record.offset,
                   rewound.error().message);
    }
    return;
  }
  {
    std::lock_guard lock(stats_mutex_);
    ++stats_.consumed;
  }
  const kafka::TopicPartition partition{record.topic, record.partition};
  auto pending = feed->tracker.begin(partition, record.offset, 1);
  auto decoded = stage_.decode(record);
  if (!decoded) {
    spdlog::warn("{}.dead_lettered topic={} partition={} offset={} reason=\"{}\"",
                 options_.stage_name, record.topic, record.partition, record.offset,
                 decoded.error().message);
    {
      std::lock_guard lock(stats_mutex_);
      ++stats_.dead_lettered;
    }
    emit(feed, pending,
         {kafka::dead_letter_record(record, decoded.error(), options_.stage_name,
                                    options_.dlq_topic)});
    return;
  }
  if (!*decoded) {  // another channel's retry
    feed->tracker.complete(*pending, Result<void>{});
    return;
  }
  auto job = std::make_shared<Job>(Job{.delivery = std::move(**decoded),
                                       .source = feed->source,
                                       .partition = partition,
                                       .pending = std::move(pending),
                                       .feed = feed,
                                       .prepared = std::nullopt,
                                       .started = {},
                                       .provider = 0});
  ++feed->pending;
  const auto& not_before = job->delivery.job.not_before;
  if (not_before && *not_before > clock_.now()) {
    waiting_.emplace(*not_before, std::move(job));
  } else {
    ready_.push_back(std::move(job));
  }
}

void DeliveryEngine::release_due_jobs() {
  const auto now = clock_.now();
  while (!waiting_.empty() && waiting_.begin()->first <= now) {
    ready_.push_back(std::move(waiting_.begin()->second));
    waiting_.erase(waiting_.begin());
  }
}

void DeliveryEngine::dispatch_ready() {
  while (!ready_.empty() && flying_.size() < options_.concurrency) {
    auto job = std::move(ready_.front());
    ready_.pop_front();
    dispatch(job);
  }
}

void DeliveryEngine::dispatch(const std::shared_ptr<Job>& job) {
  // Checked right before every send, including after waiting for a retry, a token or a slot.
  if (stage_.past_deadline(job->delivery)) {
    {
      std::lock_guard lock(stats_mutex_);
      ++stats_.expired;
    }
    finish(job, stage_.expired(job->delivery));
    return;
  }
  const auto now = clock_.now();
  const auto& failed = job->delivery.job.failed_providers;
  std::optional<TimePoint> reopens;
  bool candidate = false;
  for (std::size_t index = 0; index < providers_.size(); ++index) {
    auto& provider = *providers_[index];
    if (std::find(failed.begin(), failed.end(), provider.name) != failed.end()) continue;
    candidate = true;
    if (!provider.breaker.try_acquire(now)) {
      reopens =
          std::min(reopens.value_or(provider.breaker.reopens_at()), provider.breaker.reopens_at());
      continue;  // circuit open: the next provider, if any
    }
    if (auto wait = provider.pacer.try_take(now)) {
      provider.breaker.on_neutral();
      waiting_.emplace(*wait, job);  // paced: back in line when the next token is there
      return;
    }
    if (!job->prepared) {
      auto prepared = stage_.prepare(job->delivery);
      if (!prepared) {
        provider.breaker.on_neutral();
        {
          std::lock_guard lock(stats_mutex_);
          ++stats_.dead_lettered;
        }
        finish(job, stage_.poisoned(job->delivery, prepared.error()));
        return;
      }
      job->prepared = std::move(*prepared);
    }
    job->provider = index;
    job->started = SteadyClock::now();
    flying_.insert(job);
    {
      std::lock_guard lock(stats_mutex_);
      ++stats_.sends_started;
    }
    const auto time_left =
        std::chrono::floor<milliseconds>(job->delivery.job.deadline - clock_.now());
    provider.api->send(job->prepared->message, std::max(time_left, milliseconds(1)),
                       [inbox = inbox_, job](Result<ProviderReceipt> outcome) {
                         std::lock_guard lock(inbox->mutex);
                         inbox->results.emplace_back(job, std::move(outcome));
                       });
    return;
  }
  if (!candidate) {
    const std::string last = failed.empty() ? std::string("none") : failed.back();
    finish(job, stage_.failed(job->delivery, last,
                              Error{Errc::kPermanent, "no configured provider left for this job"},
                              milliseconds(0)));
    return;
  }
  // Every remaining provider's circuit is open.
  const auto when = std::max(reopens.value_or(now), now + kDeferAtLeast);
  if (job->source == Source::kRetries) {
    waiting_.emplace(when, job);  // already held in memory: keep it there
    return;
  }
  {
    std::lock_guard lock(stats_mutex_);
    ++stats_.deferred;
  }
  finish(job, stage_.deferred(job->delivery, when));
}

void DeliveryEngine::handle_completions() {
  std::vector<std::pair<std::shared_ptr<Job>, Result<ProviderReceipt>>> results;
  {
    std::lock_guard lock(inbox_->mutex);
    results.swap(inbox_->results);
  }
  for (auto& [job, outcome] : results) {
    flying_.erase(job);
    auto& provider = *providers_[job->provider];
    const auto latency =
        std::chrono::duration_cast<milliseconds>(SteadyClock::now() - job->started);
    // The clear-text code is not needed any more.
    job->prepared->message.body.clear();
    job->prepared->message.text.clear();
    job->prepared->message.code.clear();
    if (outcome) {
      provider.breaker.on_success();
      {
        std::lock_guard lock(stats_mutex_);
        ++stats_.sent;
      }
      finish(job, stage_.sent(job->delivery, *outcome, *job->prepared));
      continue;
    }
    const auto& error = outcome.error();
    if (error.code == Errc::kUnavailable || error.code == Errc::kTimeout) {
      provider.breaker.on_failure(clock_.now());
    } else {
      provider.breaker.on_neutral();
    }
    {
      std::lock_guard lock(stats_mutex_);
      ++stats_.send_failures;
    }
    finish(job, stage_.failed(job->delivery, provider.name, error, latency));
  }
}

void DeliveryEngine::finish(const std::shared_ptr<Job>& job,
                            std::vector<kafka::OutboundRecord> outputs) {
  --job->feed->pending;
  emit(job->feed, job->pending, std::move(outputs));
}

void DeliveryEngine::emit(const std::shared_ptr<Feed>& feed,
                          const std::shared_ptr<kafka::OffsetTracker::Pending>& pending,
                          std::vector<kafka::OutboundRecord> outputs) {
  if (outputs.empty()) {
    feed->tracker.complete(*pending, Result<void>{});
    return;
  }
  auto acks = std::make_shared<Acks>();
  acks->owner = feed;
  acks->tracker = &feed->tracker;
  acks->pending = pending;
  acks->left = outputs.size();
  for (auto& output : outputs) {
    unproduced_.push_back(PendingOutput{.record = std::move(output), .acks = acks});
  }
  produce_pending();
}

void DeliveryEngine::produce_pending() {
  while (!unproduced_.empty()) {
    auto& next = unproduced_.front();
    auto acks = next.acks;
    auto enqueued = producer_.produce(next.record, [acks](const Result<void>& acked) {
      if (!acked) {
        acks->tracker->complete(*acks->pending, acked);  // stops the engine without storing
        return;
      }
      if (acks->left.fetch_sub(1) == 1) acks->tracker->complete(*acks->pending, acked);
    });
    if (!enqueued) {
      // Queue full or broker away: keep it, try again on the next turn of the loop.
      spdlog::debug("{}.produce_retry topic={} error=\"{}\"", options_.stage_name,
                    next.record.topic, enqueued.error().message);
      return;
    }
    unproduced_.pop_front();
  }
}

void DeliveryEngine::store_offsets(Feed& feed) {
  if (feed.consumer == nullptr) return;
  for (const auto& [partition, next] : feed.tracker.take_ready()) {
    if (auto stored = feed.consumer->store_offset(partition, next); !stored) {
      spdlog::warn("{}.store_offset_failed topic={} partition={} error=\"{}\"", options_.stage_name,
                   partition.topic, partition.partition, stored.error().message);
    }
  }
}

std::size_t DeliveryEngine::room(const Feed& feed) const {
  if (feed.paused) return kPollBatch;
  const std::size_t limit =
      feed.source == Source::kJobs ? options_.max_pending_jobs : options_.max_held_retries;
  return feed.pending >= limit ? 0 : std::min(kPollBatch, limit - feed.pending);
}

void DeliveryEngine::update_back_pressure(Feed& feed) {
  const std::size_t limit =
      feed.source == Source::kJobs ? options_.max_pending_jobs : options_.max_held_retries;
  const auto now = SteadyClock::now();
  if (feed.pending < limit) {
    feed.full_since.reset();
  } else if (!feed.full_since) {
    feed.full_since = now;
  }
  if (!feed.paused && feed.full_since && now - *feed.full_since >= options_.pause_after) {
    if (auto paused = feed.consumer->pause_all(); paused) {
      feed.paused = true;
      spdlog::info("{}.paused source={} pending={}", options_.stage_name,
                   feed.source == Source::kJobs ? "jobs" : "retries", feed.pending);
    }
  } else if (feed.paused && feed.pending < std::max<std::size_t>(1, limit / 2)) {
    if (auto resumed = feed.consumer->resume_all(); resumed) {
      feed.paused = false;
      spdlog::info("{}.resumed source={} pending={}", options_.stage_name,
                   feed.source == Source::kJobs ? "jobs" : "retries", feed.pending);
    }
  }
}

void DeliveryEngine::drain(const std::function<bool()>& done, milliseconds limit) {
  const auto deadline = SteadyClock::now() + limit;
  while (true) {
    handle_completions();
    produce_pending();
    if (done() || SteadyClock::now() >= deadline) return;
    std::this_thread::sleep_for(milliseconds(2));
  }
}

void DeliveryEngine::revoke(Feed& feed, const std::vector<kafka::TopicPartition>& partitions) {
  auto revoked = [&](const std::shared_ptr<Job>& job) {
    return job->feed.get() == &feed && contains(partitions, job->partition);
  };
  // Jobs not started are left to the partition's next owner (their offsets are not stored).
  for (auto it = ready_.begin(); it != ready_.end();) {
    if (revoked(*it)) {
      --feed.pending;
      it = ready_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (revoked(it->second)) {
      --feed.pending;
      it = waiting_.erase(it);
    } else {
      ++it;
    }
  }
  // Sends in flight: wait for their outcome so the next owner does not send them again.
  drain([&] { return std::none_of(flying_.begin(), flying_.end(), revoked); },
        options_.drain_timeout);
  if (!producer_.flush(std::chrono::seconds(10))) {
    spdlog::warn("{}.flush_timeout on revoke", options_.stage_name);
  }
  store_offsets(feed);
  feed.tracker.forget(partitions);
}

}  // namespace otp::delivery
