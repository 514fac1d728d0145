// Fault injection against the real otp-generator binary, black-box: requests go straight onto
// Kafka (as an upstream publisher would), answers are read back from the replies, delivery and
// events topics. Covers issue 3's abuse and failure tests: parallel guesses, parallel correct
// checks, cross-tenant ids, kill -9 of the generator mid-burst, a Redis restart with and without
// AOF (the negative control), and fail-closed behaviour while Redis is down.
//
// Expiry is covered by tests/integration/generator/redis_code_store_integration_test.cc
// (CodeExpiresByRedisClockAndStaysReadable, 300 ms TTL against the real Redis); the binary's
// minimum OTP_CODE_TTL_S is 60 s, so it is not repeated here.

#include "common/crypto/key_ring.h"
#include "common/crypto/sealer.h"
#include "common/kafka/admin.h"
#include "common/kafka/consumer.h"
#include "common/kafka/producer.h"
#include "common/messages/messages.h"
#include "common/messages/topics.h"
#include "common/random/rng.h"
#include "tests/support/redis_server.h"
#include "tests/support/stack_env.h"
#include "tests/support/subprocess.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace otp {
namespace {

using namespace std::chrono_literals;
using messages::Outcome;
using test::RedisServer;
using test::required_env;
using test::Subprocess;

constexpr char kHmacKeys[] = "h1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
constexpr char kSealKeys[] = "s1:AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=";

/// Unique per process and call: tenants, topic prefixes, consumer groups, request ids.
std::string unique_name(const std::string& prefix) {
  static std::atomic<int> counter{0};
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(now) + "-" +
         std::to_string(counter++);
}

/// Everything read back from the output topics, decoded.
struct Collected {
  std::vector<messages::Reply> replies;
  std::vector<std::string> raw_replies;  // same order as `replies`
  std::vector<messages::DeliveryJob> jobs;
  std::vector<messages::Event> events;

  /// The first reply to each request id (a reprocessed record may answer twice, identically).
  [[nodiscard]] std::map<std::string, messages::Reply> reply_by_request() const {
    std::map<std::string, messages::Reply> out;
    for (const auto& reply : replies) out.emplace(reply.request_id, reply);
    return out;
  }
  /// Distinct event ids of `type` (event ids are deterministic, so a replay adds none).
  [[nodiscard]] std::set<std::string> event_ids(const std::string& type,
                                                const std::string& vid = "") const {
    std::set<std::string> out;
    for (const auto& event : events) {
      if (event.type == type && (vid.empty() || event.verification_id == vid)) {
        out.insert(event.id);
      }
    }
    return out;
  }
};

class GeneratorFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    brokers_ = required_env("OTP_TEST_KAFKA_BROKERS");
    redis_host_ = required_env("OTP_TEST_REDIS_HOST");
    redis_port_ = required_env("OTP_TEST_REDIS_PORT");
    pg_url_ = required_env("OTP_TEST_PG_URL");
    ASSERT_FALSE(HasFailure());

    prefix_ = unique_name("it-faults") + ".";
    topics_ = messages::Topics::with_prefix(prefix_);
    settings_ =
        kafka::KafkaSettings{.brokers = brokers_, .client_id = "it-faults", .properties = {}};
    auto ensured = kafka::ensure_topics(settings_, topics_.specs(), 1, 30s);
    ASSERT_TRUE(ensured.has_value()) << ensured.error().message;
    auto producer = kafka::KafkaProducer::create(settings_);
    ASSERT_TRUE(producer.has_value()) << producer.error().message;
    producer_ = std::move(*producer);

    auto reader = kafka::Consumer::create(settings_, unique_name("it-faults-reader"));
    ASSERT_TRUE(reader.has_value()) << reader.error().message;
    reader_ = std::move(*reader);
    ASSERT_TRUE(reader_->subscribe({topics_.replies, topics_.delivery_sms, topics_.events}));

    auto keys = crypto::KeyRing::parse(kSealKeys);
    ASSERT_TRUE(keys.has_value()) << keys.error().message;
    seal_keys_.emplace(std::move(*keys));
    sealer_.emplace(*seal_keys_, rng_);

    tenant_ = new_tenant();
    group_ = unique_name("it-faults-gen");
    log_dir_ = ::testing::TempDir() + unique_name("otp-faults") + "/";
    std::filesystem::create_directories(log_dir_);
  }

  void TearDown() override {
    generators_.clear();
    if (reader_) reader_->close();
  }

  /// A tenant row of its own in the shared test database (the generator may read its settings).
  std::string new_tenant() {
    std::string id = unique_name("flt");
    pqxx::connection connection(pg_url_);
    pqxx::work tx(connection);
    tx.exec_params("INSERT INTO tenants (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING", id,
                   "generator fault test");
    // These tests send bursts of hundreds of codes: lift the tenant's send rate limit (when the
    // tenant settings migration is there) so that what they measure is the fault, not the limit.
    auto has_rate = tx.exec(
        "SELECT 1 FROM information_schema.columns WHERE table_name = 'tenants' AND "
        "column_name = 'send_rate_per_second'");
    if (!has_rate.empty()) {
      tx.exec_params(
          "UPDATE tenants SET send_rate_per_second = 100000, send_burst = 1000000 WHERE id = $1",
          id);
    }
    tx.commit();
    return id;
  }

  std::vector<std::pair<std::string, std::string>> generator_env(const std::string& redis_port) {
    // Bursts of 1,000 requests take longer than a few seconds through a sanitizer build; only the
    // fail-closed test wants stale verifies answered `unavailable` quickly.
    return {{"OTP_KAFKA_BROKERS", brokers_},
            {"OTP_TOPIC_PREFIX", prefix_},
            {"OTP_CONSUMER_GROUP", group_},
            // A killed member must leave the group quickly, or its partitions stall for 45 s.
            {"OTP_KAFKA_PROPERTIES", "session.timeout.ms=6000;heartbeat.interval.ms=1000"},
            {"OTP_REDIS_HOST", "127.0.0.1"},
            {"OTP_REDIS_PORT", redis_port},
            {"OTP_PG_URL", pg_url_},
            {"OTP_HMAC_KEYS", kHmacKeys},
            {"OTP_SEAL_KEYS", kSealKeys},
            {"OTP_VERIFY_MAX_AGE_MS", std::to_string(verify_max_age_.count())},
            // Bursts of hundreds of sends: the tenant send rate must not be what is tested.
            {"OTP_SEND_RATE_PER_SECOND", "1000000"},
            {"OTP_SEND_BURST", "1000000"},
            {"OTP_LOG_LEVEL", "info"}};
  }

  /// Starts one more otp-generator (same consumer group); returns its index in generators_.
  std::size_t start_generator(const std::string& redis_port) {
    auto process = Subprocess::start({OTP_GENERATOR_BIN}, generator_env(redis_port),
                                     log_dir_ + "otp-generator.log");
    EXPECT_TRUE(process.has_value()) << process.error().message;
    if (!process) return generators_.size();
    generators_.push_back(std::make_unique<Subprocess>(std::move(*process)));
    return generators_.size() - 1;
  }

  static std::string new_vid() {
    OpenSslRng rng;
    return "otp_" + random_hex(rng, 16);
  }

  kafka::OutboundRecord send_record(const std::string& vid, const std::string& request_id,
                                    const std::string& recipient) const {
    messages::SendRequested request;
    request.request_id = request_id;
    request.tenant = tenant_;
    request.verification_id = vid;
    request.recipient = recipient;
    request.channel = messages::Channel::kSms;
    request.requested_at = std::chrono::system_clock::now();
    return {.topic = topics_.send_requests,
            .key = tenant_ + recipient,
            .value = messages::encode(request),
            .headers = {{"correlation_id", request_id}, {"reply_partition", "0"}},
            .partition = std::nullopt};
  }

  /// A verify request with the code in clear (allowed to upstream publishers). Keyed by request id
  /// so that parallel checks of one verification spread over every partition, hence over every
  /// generator instance.
  kafka::OutboundRecord verify_record(const std::string& tenant, const std::string& vid,
                                      const std::string& code,
                                      const std::string& request_id) const {
    messages::VerifyRequested request;
    request.request_id = request_id;
    request.tenant = tenant;
    request.verification_id = vid;
    request.otp_code = code;
    request.requested_at = std::chrono::system_clock::now();
    return {.topic = topics_.verify_requests,
            .key = request_id,
            .value = messages::encode(request),
            .headers = {{"correlation_id", request_id}, {"reply_partition", "0"}},
            .partition = std::nullopt};
  }

  void publish(const std::vector<kafka::OutboundRecord>& records) {
    auto sent = kafka::publish_and_wait(*producer_, std::span(records), 30s);
    ASSERT_TRUE(sent.has_value()) << sent.error().message;
  }

  /// Publishes `records` from `threads` producers at once, each with its own connection.
  void publish_parallel(const std::vector<kafka::OutboundRecord>& records, int threads) {
    std::vector<std::thread> workers;
    std::atomic<int> failures{0};
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        auto producer = kafka::KafkaProducer::create(settings_);
        if (!producer) {
          ++failures;
          return;
        }
        std::vector<kafka::OutboundRecord> mine;
        for (std::size_t i = t; i < records.size(); i += threads) mine.push_back(records[i]);
        if (!kafka::publish_and_wait(**producer, std::span(mine), 60s)) ++failures;
      });
    }
    for (auto& worker : workers) worker.join();
    ASSERT_EQ(failures.load(), 0);
  }

  /// Reads the output topics until `done` or `limit`.
  const Collected& collect(const std::function<bool(const Collected&)>& done,
                           std::chrono::milliseconds limit = 90s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done(collected_) && std::chrono::steady_clock::now() < deadline) {
      auto polled = reader_->poll(100ms);
      if (!polled || !*polled) continue;
      const auto& record = **polled;
      if (record.topic == topics_.replies) {
        auto reply = messages::decode_reply(record.value);
        EXPECT_TRUE(reply.has_value());
        if (reply) {
          collected_.replies.push_back(*reply);
          collected_.raw_replies.push_back(record.value);
        }
      } else if (record.topic == topics_.delivery_sms) {
        auto job = messages::decode_delivery_job(record.value);
        EXPECT_TRUE(job.has_value());
        if (job) collected_.jobs.push_back(*job);
      } else if (record.topic == topics_.events) {
        auto event = messages::decode_event(record.value);
        EXPECT_TRUE(event.has_value());
        if (event) collected_.events.push_back(*event);
      }
    }
    return collected_;
  }

  /// Keeps collecting for `duration`, so that a record a test expects never to see has the time
  /// to arrive if it was produced after all.
  void collect_for(std::chrono::milliseconds duration) {
    const auto until = std::chrono::steady_clock::now() + duration;
    collect([until](const Collected&) { return std::chrono::steady_clock::now() >= until; },
            duration + 1s);
  }

  /// Waits for the reply to `request_id`.
  std::optional<messages::Reply> reply_to(const std::string& request_id,
                                          std::chrono::milliseconds limit = 90s) {
    auto has = [&](const Collected& c) { return c.reply_by_request().contains(request_id); };
    auto replies = collect(has, limit).reply_by_request();
    auto it = replies.find(request_id);
    if (it == replies.end()) return std::nullopt;
    return it->second;
  }

  /// Issues a code for a fresh verification and returns {vid, clear code} (from the delivery job,
  /// unsealed as otp-delivery would).
  std::pair<std::string, std::string> issue(const std::string& recipient = "+14155552671") {
    const auto vid = new_vid();
    publish({send_record(vid, unique_name("send"), recipient)});
    auto job_for = [&](const Collected& c) {
      for (const auto& job : c.jobs) {
        if (job.verification_id == vid) return true;
      }
      return false;
    };
    const auto& got = collect(job_for);
    for (const auto& job : got.jobs) {
      if (job.verification_id != vid) continue;
      auto code = sealer_->unseal(job.sealed_code, vid);
      EXPECT_TRUE(code.has_value()) << code.error().message;
      if (code) return {vid, *code};
    }
    ADD_FAILURE() << "no delivery job for " << vid << "; generator log in " << log_dir_;
    return {vid, ""};
  }

  static std::string wrong_code(const std::string& code) {
    return code == "000000" ? "111111" : "000000";
  }

  std::string brokers_, redis_host_, redis_port_, pg_url_, prefix_, tenant_, group_, log_dir_;
  messages::Topics topics_;
  kafka::KafkaSettings settings_;
  std::unique_ptr<kafka::KafkaProducer> producer_;
  std::unique_ptr<kafka::Consumer> reader_;
  OpenSslRng rng_;
  std::optional<crypto::KeyRing> seal_keys_;
  std::optional<crypto::Sealer> sealer_;
  std::vector<std::unique_ptr<Subprocess>> generators_;
  std::chrono::milliseconds verify_max_age_ = 120s;
  Collected collected_;
};

TEST_F(GeneratorFaultsTest, ThousandParallelWrongGuessesGetAtMostFiveComparisons) {
  // Two generator processes in one group, so guesses really are checked concurrently.
  start_generator(redis_port_);
  start_generator(redis_port_);
  auto [vid, code] = issue();
  ASSERT_FALSE(code.empty());

  std::vector<kafka::OutboundRecord> guesses;
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    auto id = unique_name("guess");
    ids.insert(id);
    guesses.push_back(verify_record(tenant_, vid, wrong_code(code), id));
  }
  publish_parallel(guesses, 4);
  auto all_answered = [&](const Collected& c) {
    std::size_t answered = 0;
    for (const auto& [id, reply] : c.reply_by_request()) answered += ids.contains(id) ? 1 : 0;
    return answered == ids.size();
  };
  const auto& got = collect(all_answered, 180s);
  ASSERT_TRUE(all_answered(got)) << "log in " << log_dir_;

  std::map<Outcome, int> outcomes;
  for (const auto& [id, reply] : got.reply_by_request()) {
    if (ids.contains(id)) ++outcomes[reply.outcome];
  }
  EXPECT_EQ(outcomes[Outcome::kApproved], 0);
  EXPECT_EQ(outcomes[Outcome::kInvalidCode], 4);
  EXPECT_EQ(outcomes[Outcome::kMaxAttemptsReached], 996);
  // Events go through the generator's other producer (linger 10 ms, kafka::SplitProducer) and
  // may come after the last reply: wait for them, then a second more for any extra one.
  collect(
      [&](const Collected& c) {
        return c.event_ids("verification.check_failed", vid).size() >= 5 &&
               !c.event_ids("verification.max_attempts_reached", vid).empty();
      },
      60s);
  collect_for(1s);
  EXPECT_EQ(got.event_ids("verification.check_failed", vid).size(), 5U);
  EXPECT_EQ(got.event_ids("verification.max_attempts_reached", vid).size(), 1U);
  EXPECT_TRUE(got.event_ids("verification.approved", vid).empty());

  // The right code is refused now too.
  auto late = unique_name("late");
  publish({verify_record(tenant_, vid, code, late)});
  auto answer = reply_to(late);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->outcome, Outcome::kMaxAttemptsReached);
}

TEST_F(GeneratorFaultsTest, HundredParallelCorrectChecksApproveExactlyOnce) {
  start_generator(redis_port_);
  start_generator(redis_port_);
  auto [vid, code] = issue();
  ASSERT_FALSE(code.empty());

  std::vector<kafka::OutboundRecord> checks;
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    auto id = unique_name("check");
    ids.insert(id);
    checks.push_back(verify_record(tenant_, vid, code, id));
  }
  publish_parallel(checks, 4);
  auto all_answered = [&](const Collected& c) {
    std::size_t answered = 0;
    for (const auto& [id, reply] : c.reply_by_request()) answered += ids.contains(id) ? 1 : 0;
    return answered == ids.size();
  };
  const auto& got = collect(all_answered, 120s);
  ASSERT_TRUE(all_answered(got)) << "log in " << log_dir_;

  std::map<Outcome, int> outcomes;
  for (const auto& [id, reply] : got.reply_by_request()) {
    if (ids.contains(id)) ++outcomes[reply.outcome];
  }
  EXPECT_EQ(outcomes[Outcome::kApproved], 1);
  EXPECT_EQ(outcomes[Outcome::kAlreadyVerified], 99);
  // Events may come after the last reply (another producer): wait for the approval, then a
  // second more for any extra event.
  collect([&](const Collected& c) { return !c.event_ids("verification.approved", vid).empty(); },
          60s);
  collect_for(1s);
  EXPECT_EQ(got.event_ids("verification.approved", vid).size(), 1U);
  EXPECT_TRUE(got.event_ids("verification.check_failed", vid).empty());
}

TEST_F(GeneratorFaultsTest, AnotherTenantsVerificationIdAnswersLikeAnUnknownId) {
  const auto other = new_tenant();  // before the generator starts, so its settings are loaded
  start_generator(redis_port_);
  auto [vid, code] = issue();
  ASSERT_FALSE(code.empty());

  // Another tenant presents our id with the right code, and an id nobody issued.
  const auto foreign = unique_name("foreign");
  const auto unknown = unique_name("unknown");
  publish(
      {verify_record(other, vid, code, foreign), verify_record(other, new_vid(), code, unknown)});
  ASSERT_TRUE(reply_to(foreign).has_value());
  ASSERT_TRUE(reply_to(unknown).has_value());

  // Same bytes once the ids are blanked out.
  auto normalised = [&](const std::string& request_id) {
    for (std::size_t i = 0; i < collected_.replies.size(); ++i) {
      if (collected_.replies[i].request_id != request_id) continue;
      auto json = nlohmann::json::parse(collected_.raw_replies[i]);
      for (const char* id : {"correlation_id", "request_id", "verification_id"}) {
        if (json.contains(id)) json[id] = "<id>";
      }
      return json.dump();
    }
    return std::string();
  };
  EXPECT_EQ(normalised(foreign), normalised(unknown));
  EXPECT_EQ(reply_to(foreign)->outcome, Outcome::kNotFound);

  // And it used none of the owner's attempts and approved nothing.
  const auto mine = unique_name("mine");
  publish({verify_record(tenant_, vid, wrong_code(code), mine)});
  auto answer = reply_to(mine);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->outcome, Outcome::kInvalidCode);
  EXPECT_EQ(answer->attempts_remaining, 4);
  collect_for(1s);  // an approval event would come through the other producer
  EXPECT_TRUE(collected_.event_ids("verification.approved", vid).empty());
}

TEST_F(GeneratorFaultsTest, KillNineMidBurstLosesNothingAndNeverIssuesTwoCodes) {
  constexpr int kRequests = 300;
  constexpr int kKills = 3;
  std::map<std::string, std::string> vid_of;  // request id -> verification id
  std::vector<kafka::OutboundRecord> sends;
  for (int i = 0; i < kRequests; ++i) {
    const auto request_id = unique_name("burst");
    const auto vid = new_vid();
    vid_of[request_id] = vid;
    // Distinct recipients, so per-destination limits never interfere.
    sends.push_back(send_record(vid, request_id, "+1415555" + std::to_string(1000 + i)));
  }

  std::mt19937 random(static_cast<unsigned>(::getpid()));
  start_generator(redis_port_);
  // Warm-up: one send answered, so the generator has joined its group and loaded its scripts
  // before the burst starts. Otherwise the whole burst waits in Kafka during start-up and is
  // answered in one go, before any kill could land in it.
  const auto warm_id = unique_name("warm");
  const std::vector<kafka::OutboundRecord> warm = {send_record(new_vid(), warm_id, "+14155550999")};
  ASSERT_TRUE(kafka::publish_and_wait(*producer_, std::span(warm), 30s).has_value());
  collect([&](const Collected& c) { return c.reply_by_request().contains(warm_id); }, 120s);
  // Burst replies received so far.
  const auto burst_answered = [&](const Collected& c) {
    std::size_t count = 0;
    for (const auto& [request_id, reply] : c.reply_by_request()) {
      count += vid_of.contains(request_id) ? 1 : 0;
    }
    return count;
  };
  std::atomic<bool> published{false};
  std::thread publisher([&] {
    for (std::size_t i = 0; i < sends.size(); i += 25) {
      std::vector<kafka::OutboundRecord> batch(
          sends.begin() + static_cast<std::ptrdiff_t>(i),
          sends.begin() + static_cast<std::ptrdiff_t>(std::min(i + 25, sends.size())));
      auto sent = kafka::publish_and_wait(*producer_, std::span(batch), 30s);
      EXPECT_TRUE(sent.has_value());
      std::this_thread::sleep_for(100ms);
    }
    published = true;
  });
  // Kill at random points while the burst is being processed (after the first replies arrive,
  // so the generator is past its start-up and between Redis writes and produces).
  collect([&](const Collected& c) { return burst_answered(c) > 0; }, 60s);
  std::vector<std::size_t> answered_at_kill;
  for (int kill = 0; kill < kKills; ++kill) {
    std::uniform_int_distribution<int> pause_ms(20, 600);
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(random)));
    // Read what has arrived so far (for 100 ms), then kill.
    answered_at_kill.push_back(
        burst_answered(collect([](const Collected&) { return false; }, 100ms)));
    generators_.back()->kill9();
    generators_.pop_back();
    start_generator(redis_port_);
    // Let the successor rejoin and make progress before the next kill.
    const auto seen = collected_.replies.size();
    collect(
        [&](const Collected& c) {
          return c.replies.size() > seen + 10 ||
                 burst_answered(c) >= static_cast<std::size_t>(kRequests);
        },
        60s);
  }
  publisher.join();
  ASSERT_TRUE(published.load());

  auto complete = [&](const Collected& c) {
    auto replies = c.reply_by_request();
    std::set<std::string> created;
    for (const auto& event : c.events) {
      if (event.type == "verification.created") created.insert(event.verification_id);
    }
    std::set<std::string> delivered;
    for (const auto& job : c.jobs) delivered.insert(job.verification_id);
    for (const auto& [request_id, vid] : vid_of) {
      if (!replies.contains(request_id) || !created.contains(vid) || !delivered.contains(vid)) {
        return false;
      }
    }
    return true;
  };
  const auto& got = collect(complete, 180s);

  std::set<std::string> created;
  for (const auto& event : got.events) {
    if (event.type == "verification.created") created.insert(event.verification_id);
  }
  const auto replies = got.reply_by_request();
  std::map<std::string, std::set<std::string>> codes;  // vid -> distinct codes delivered
  for (const auto& job : got.jobs) {
    auto code = sealer_->unseal(job.sealed_code, job.verification_id);
    ASSERT_TRUE(code.has_value()) << code.error().message;
    codes[job.verification_id].insert(*code);
  }
  int lost_replies = 0, lost_events = 0, missing_jobs = 0, two_codes = 0;
  for (const auto& [request_id, vid] : vid_of) {
    lost_replies += replies.contains(request_id) ? 0 : 1;
    lost_events += created.contains(vid) ? 0 : 1;
    missing_jobs += codes.contains(vid) ? 0 : 1;
    two_codes += codes[vid].size() > 1 ? 1 : 0;
    if (replies.contains(request_id)) {
      EXPECT_EQ(replies.at(request_id).outcome, Outcome::kPending);
      EXPECT_EQ(replies.at(request_id).verification_id, vid);
    }
  }
  EXPECT_EQ(lost_replies, 0) << "log in " << log_dir_;
  EXPECT_EQ(lost_events, 0);
  EXPECT_EQ(missing_jobs, 0);
  EXPECT_EQ(two_codes, 0) << "a verification was delivered two different codes";
  // The first kill must land while requests were still unanswered, or nothing was tested.
  ASSERT_FALSE(answered_at_kill.empty());
  EXPECT_LT(answered_at_kill.front(), static_cast<std::size_t>(kRequests))
      << "the burst was over before the first kill";
  // Redelivery after a kill re-emits byte-identical outputs; how many shows where kills landed.
  std::string at_kills;
  for (auto answered : answered_at_kill) at_kills += std::to_string(answered) + " ";
  std::printf("kill -9 at %zu-reply marks: %s; %zu jobs and %zu replies for %d requests\n",
              answered_at_kill.size(), at_kills.c_str(), got.jobs.size(), got.replies.size(),
              kRequests);
}

/// Issues a code against a private Redis, uses two attempts, waits past the AOF fsync interval,
/// kills Redis with SIGKILL and starts it again on the same directory. Returns the reply to the
/// next wrong guess: attempts_remaining 2 if the counters survived.
class RedisRestartTest : public GeneratorFaultsTest {
 protected:
  std::optional<messages::Reply> guess_after_restart(std::vector<std::string> flags) {
    auto redis = RedisServer::start(std::move(flags));
    EXPECT_TRUE(redis.has_value()) << redis.error().message;
    if (!redis) return std::nullopt;
    start_generator(std::to_string((*redis)->port()));
    auto [vid, code] = issue();
    EXPECT_FALSE(code.empty());
    if (code.empty()) return std::nullopt;
    for (int i = 0; i < 2; ++i) {
      const auto id = unique_name("before");
      publish({verify_record(tenant_, vid, wrong_code(code), id)});
      auto answer = reply_to(id);
      EXPECT_TRUE(answer.has_value());
      if (!answer) return std::nullopt;
      EXPECT_EQ(answer->attempts_remaining, 4 - i);
    }
    std::this_thread::sleep_for(2s);  // > appendfsync everysec
    (*redis)->kill9();
    auto restarted = (*redis)->restart();
    EXPECT_TRUE(restarted.has_value()) << restarted.error().message;
    if (!restarted) return std::nullopt;
    const auto id = unique_name("after");
    publish({verify_record(tenant_, vid, wrong_code(code), id)});
    auto answer = reply_to(id, 60s);
    generators_.clear();  // before the Redis it talks to goes away
    return answer;
  }
};

TEST_F(RedisRestartTest, AppendOnlyFileKeepsTheAttemptCounters) {
  auto answer = guess_after_restart({"--appendonly", "yes", "--appendfsync", "everysec"});
  ASSERT_TRUE(answer.has_value()) << "log in " << log_dir_;
  EXPECT_EQ(answer->outcome, Outcome::kInvalidCode);
  EXPECT_EQ(answer->attempts_remaining, 2);
}

TEST_F(RedisRestartTest, NegativeControlWithoutPersistenceTheCheckerNoticesTheLoss) {
  // No AOF, no RDB: everything is lost on SIGKILL. The same check must see it, or the test above
  // could not fail.
  auto answer = guess_after_restart({"--appendonly", "no", "--save", ""});
  ASSERT_TRUE(answer.has_value()) << "log in " << log_dir_;
  EXPECT_NE(answer->attempts_remaining, std::optional<int>(2));
  EXPECT_EQ(answer->outcome, Outcome::kNotFound);
}

TEST_F(GeneratorFaultsTest, RedisDownFailsClosedAndRecoversWithoutRestart) {
  verify_max_age_ = 3s;  // a verify held up by the outage is answered within seconds
  auto redis = RedisServer::start({"--appendonly", "yes", "--appendfsync", "always"});
  ASSERT_TRUE(redis.has_value()) << redis.error().message;
  const auto index = start_generator(std::to_string((*redis)->port()));
  auto [vid, code] = issue();
  ASSERT_FALSE(code.empty());

  // Redis goes away: a verify with the right code is answered unavailable, never approved.
  (*redis)->stop();
  const auto during = unique_name("during");
  publish({verify_record(tenant_, vid, code, during)});
  auto refused = reply_to(during, 60s);
  ASSERT_TRUE(refused.has_value()) << "no answer while Redis was down; log in " << log_dir_;
  EXPECT_EQ(refused->outcome, Outcome::kUnavailable);
  collect_for(1s);  // an approval event would come through the other producer
  EXPECT_TRUE(collected_.event_ids("verification.approved", vid).empty());
  ASSERT_TRUE(generators_[index]->running()) << "the generator died with Redis";

  // Redis comes back: the same process recovers and the same code verifies.
  ASSERT_TRUE((*redis)->restart().has_value());
  const auto after = unique_name("after");
  publish({verify_record(tenant_, vid, code, after)});
  auto approved = reply_to(after, 60s);
  ASSERT_TRUE(approved.has_value()) << "log in " << log_dir_;
  EXPECT_EQ(approved->outcome, Outcome::kApproved);
  EXPECT_EQ(approved->attempts_remaining, 4);
  generators_.clear();
}

}  // namespace
}  // namespace otp
