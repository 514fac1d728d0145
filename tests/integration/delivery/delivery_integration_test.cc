// The real otp-delivery binary, black-box: delivery jobs go straight onto Kafka (as the generator
// publishes them), the Twilio fake (tests/support/fake_providers/fake_providers.py) answers and
// injects failures through /_fake/behaviour, and outcomes are read back from the events, replies
// and DLQ topics. Issue 5's delivery tests: a 503 storm and recovery, Retry-After, a permanent
// 400 falling back to another channel, expiry, and kill -9 mid-batch.

#include "common/crypto/key_ring.h"
#include "common/crypto/sealer.h"
#include "common/kafka/admin.h"
#include "common/kafka/consumer.h"
#include "common/kafka/producer.h"
#include "common/messages/messages.h"
#include "common/messages/topics.h"
#include "common/random/rng.h"
#include "tests/support/fake_server.h"
#include "tests/support/stack_env.h"
#include "tests/support/subprocess.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace otp {
namespace {

using namespace std::chrono_literals;
using test::required_env;
using test::Subprocess;

constexpr char kSealKeys[] = "s1:AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=";
constexpr char kAccountSid[] = "AC00000000000000000000000000000000";
constexpr char kAuthToken[] = "fake-auth-token";

std::string unique_name(const std::string& prefix) {
  static std::atomic<int> counter{0};
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(now) + "-" +
         std::to_string(counter++);
}

const std::set<std::string> kTerminal = {"delivery.sent", "delivery.failed", "delivery.expired"};

class DeliveryIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    brokers_ = required_env("OTP_TEST_KAFKA_BROKERS");
    ASSERT_FALSE(HasFailure());
    prefix_ = unique_name("it-dlv") + ".";
    topics_ = messages::Topics::with_prefix(prefix_);
    settings_ = kafka::KafkaSettings{.brokers = brokers_, .client_id = "it-dlv", .properties = {}};
    auto ensured = kafka::ensure_topics(settings_, topics_.specs(), 1, 30s);
    ASSERT_TRUE(ensured.has_value()) << ensured.error().message;
    auto producer = kafka::KafkaProducer::create(settings_);
    ASSERT_TRUE(producer.has_value()) << producer.error().message;
    producer_ = std::move(*producer);
    auto reader = kafka::Consumer::create(settings_, unique_name("it-dlv-reader"));
    ASSERT_TRUE(reader.has_value()) << reader.error().message;
    reader_ = std::move(*reader);
    ASSERT_TRUE(reader_->subscribe({topics_.events, topics_.replies, topics_.dlq}));

    auto keys = crypto::KeyRing::parse(kSealKeys);
    ASSERT_TRUE(keys.has_value());
    keys_.emplace(std::move(*keys));
    sealer_.emplace(*keys_, rng_);

    dir_ = ::testing::TempDir() + unique_name("otp-dlv") + "/";
    std::filesystem::create_directories(dir_);
    auto fake = test::FakeProviders::start(
        dir_ + "fake_providers.log", {"--account-sid", kAccountSid, "--auth-token", kAuthToken});
    ASSERT_TRUE(fake.has_value()) << fake.error().message;
    fake_.emplace(std::move(*fake));
    fake_url_ = fake_->base_url();
    group_ = unique_name("it-dlv-group");
  }

  void TearDown() override {
    workers_.clear();
    fake_.reset();
    if (reader_) reader_->close();
  }

  std::vector<std::pair<std::string, std::string>> worker_env(const std::string& channel) {
    return {{"OTP_KAFKA_BROKERS", brokers_},
            {"OTP_TOPIC_PREFIX", prefix_},
            {"OTP_CONSUMER_GROUP", group_ + "-" + channel},
            {"OTP_KAFKA_PROPERTIES", "session.timeout.ms=6000;heartbeat.interval.ms=1000"},
            {"OTP_SEAL_KEYS", kSealKeys},
            {"OTP_SMS_PROVIDER", "twilio"},
            {"OTP_TWILIO_BASE_URL", fake_url_},
            {"OTP_TWILIO_ACCOUNT_SID", kAccountSid},
            {"OTP_TWILIO_AUTH_TOKEN", kAuthToken},
            {"OTP_TWILIO_FROM", "+15005550006"},
            {"OTP_WHATSAPP_PROVIDER", "outbox"},
            {"OTP_OUTBOX_PATH", dir_ + "outbox-" + channel + ".jsonl"},
            {"OTP_PROVIDER_TIMEOUT_MS", "5000"},
            {"OTP_DELIVERY_CONCURRENCY", "32"},
            {"OTP_DELIVERY_BACKOFF_INITIAL_MS", "200"},
            {"OTP_DELIVERY_BACKOFF_MAX_MS", "1000"},
            {"OTP_DELIVERY_MAX_ATTEMPTS", "30"},
            {"OTP_DELIVERY_BREAKER_FAILURES", "5"},
            {"OTP_DELIVERY_BREAKER_OPEN_MS", "300"},
            {"OTP_LOG_LEVEL", "info"}};
  }

  Subprocess& start_worker(const std::string& channel,
                           const std::vector<std::pair<std::string, std::string>>& extra = {}) {
    auto env = worker_env(channel);
    for (const auto& [key, value] : extra) {  // overrides: the first of a name wins in getenv
      std::erase_if(env, [&](const auto& entry) { return entry.first == key; });
      env.emplace_back(key, value);
    }
    auto process = Subprocess::start({OTP_DELIVERY_BIN, "--channel", channel}, env,
                                     dir_ + "otp-delivery-" + channel + ".log");
    EXPECT_TRUE(process.has_value()) << process.error().message;
    workers_.push_back(std::make_unique<Subprocess>(std::move(*process)));
    return *workers_.back();
  }

  /// Waits until every job ended, then checks each ended once, sent, after one provider request.
  void expect_each_sent_once(const std::vector<messages::DeliveryJob>& jobs) {
    collect([&] { return all_terminal(jobs); }, 120s);
    auto requests = requests_by_recipient();
    for (const auto& j : jobs) {
      auto ends = terminal(j.job_id);
      ASSERT_EQ(ends.size(), 1U) << j.job_id;
      EXPECT_EQ(ends.begin()->second, "delivery.sent");
      EXPECT_EQ(requests[j.recipient].size(), 1U) << j.recipient;
    }
  }

  nlohmann::json control(const std::string& method, const std::string& path,
                         const nlohmann::json& body = nullptr) {
    return fake_->control(method, path, body);
  }

  /// Requests the fake answered for `to`, with their status.
  std::map<std::string, std::vector<nlohmann::json>> requests_by_recipient() {
    std::map<std::string, std::vector<nlohmann::json>> out;
    auto all = control("GET", "/_fake/requests");
    for (const auto& request : all) {
      out[request["form"].value("To", "")].push_back(request);
    }
    return out;
  }

  static std::string recipient(int i) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "+1415555%04d", i);
    return buffer;
  }

  messages::DeliveryJob job(int i, std::chrono::milliseconds deadline_in = 10min) {
    const std::string vid = "otp_" + random_hex(rng_, 16);
    const auto now = std::chrono::system_clock::now();
    return messages::DeliveryJob{.job_id = vid + ":1",
                                 .tenant = "it-dlv",
                                 .verification_id = vid,
                                 .channel = messages::Channel::kSms,
                                 .recipient = recipient(i),
                                 .sealed_code = sealer_->seal("482913", vid),
                                 .code_length = 6,
                                 .locale = "",
                                 .expires_at = now + deadline_in + 10s,
                                 .deadline = now + deadline_in,
                                 .attempt = 0};
  }

  void publish(const std::vector<messages::DeliveryJob>& jobs,
               std::vector<kafka::Header> headers = {}) {
    std::vector<kafka::OutboundRecord> records;
    for (const auto& j : jobs) {
      records.push_back({.topic = topics_.delivery(j.channel),
                         .key = j.verification_id,
                         .value = messages::encode(j),
                         .headers = headers,
                         .partition = std::nullopt});
    }
    auto sent = kafka::publish_and_wait(*producer_, records, 30s);
    ASSERT_TRUE(sent.has_value()) << sent.error().message;
  }

  /// Reads events, replies and DLQ records until `done` or `limit`.
  void collect(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      auto polled = reader_->poll(100ms);
      if (!polled || !*polled) continue;
      const auto& record = **polled;
      if (record.topic == topics_.events) {
        if (auto event = messages::decode_event(record.value)) {
          events_[event->data.value("job_id", "")].push_back(*event);
        }
      } else if (record.topic == topics_.replies) {
        if (auto reply = messages::decode_reply(record.value)) replies_.push_back(*reply);
      } else if (record.topic == topics_.dlq) {
        dlq_.push_back(record);
      }
    }
  }

  /// Distinct terminal events (by id) of `job_id`.
  std::map<std::string, std::string> terminal(const std::string& job_id) {
    std::map<std::string, std::string> out;  // id -> type
    for (const auto& event : events_[job_id]) {
      if (kTerminal.count(event.type)) out[event.id] = event.type;
    }
    return out;
  }

  bool all_terminal(const std::vector<messages::DeliveryJob>& jobs) {
    for (const auto& j : jobs) {
      if (terminal(j.job_id).empty()) return false;
    }
    return true;
  }

  std::string brokers_;
  std::string prefix_;
  std::string group_;
  messages::Topics topics_;
  kafka::KafkaSettings settings_;
  std::unique_ptr<kafka::KafkaProducer> producer_;
  std::unique_ptr<kafka::Consumer> reader_;
  OpenSslRng rng_;
  std::optional<crypto::KeyRing> keys_;
  std::optional<crypto::Sealer> sealer_;
  std::string dir_;
  std::optional<test::FakeProviders> fake_;
  std::string fake_url_;
  std::vector<std::unique_ptr<Subprocess>> workers_;
  std::map<std::string, std::vector<messages::Event>> events_;
  std::vector<messages::Reply> replies_;
  std::vector<kafka::Record> dlq_;
};

TEST_F(DeliveryIntegrationTest, A503StormThenRecoveryDeliversEveryJobOnce) {
  nlohmann::json storm = {{"statuses", std::vector<int>(80, 503)}, {"latency_ms", 20}};
  ASSERT_FALSE(control("POST", "/_fake/behaviour", storm).is_null());
  start_worker("sms");
  std::vector<messages::DeliveryJob> jobs;
  for (int i = 0; i < 60; ++i) jobs.push_back(job(i));
  publish(jobs);

  collect([&] { return all_terminal(jobs); }, 120s);

  auto requests = requests_by_recipient();
  int failed_requests = 0;
  for (const auto& j : jobs) {
    auto ends = terminal(j.job_id);
    ASSERT_EQ(ends.size(), 1U) << j.job_id << " has no single terminal event";
    EXPECT_EQ(ends.begin()->second, "delivery.sent") << j.job_id;
    int accepted = 0;
    for (const auto& request : requests[j.recipient]) {
      if (request["status"] == 201) ++accepted;
      if (request["status"] == 503) ++failed_requests;
    }
    EXPECT_EQ(accepted, 1) << "no crash was injected: exactly one send for " << j.recipient;
  }
  EXPECT_EQ(failed_requests, 80);  // the storm was really served, and retried through
  // The retries went through the retry topic: some job needed more than one attempt.
  int attempted = 0;
  for (const auto& j : jobs) {
    for (const auto& event : events_[j.job_id]) attempted += event.type == "delivery.attempted";
  }
  EXPECT_GE(attempted, 1);
}

TEST_F(DeliveryIntegrationTest, RetryAfterIsHonouredAndTheReplyArrives) {
  ASSERT_FALSE(
      control("POST", "/_fake/behaviour", {{"statuses", {429}}, {"retry_after", 2}}).is_null());
  start_worker("sms");
  auto j = job(1);
  publish({j}, {{"delivery_correlation_id", "corr-42"}, {"reply_partition", "2"}});

  collect([&] { return all_terminal({j}) && !replies_.empty(); }, 60s);

  ASSERT_EQ(terminal(j.job_id).size(), 1U);
  EXPECT_EQ(terminal(j.job_id).begin()->second, "delivery.sent");
  auto requests = requests_by_recipient()[j.recipient];
  ASSERT_EQ(requests.size(), 2U);
  EXPECT_EQ(requests[0]["status"], 429);
  EXPECT_EQ(requests[1]["status"], 201);
  auto first = parse_rfc3339(requests[0]["time"].get<std::string>());
  auto second = parse_rfc3339(requests[1]["time"].get<std::string>());
  ASSERT_TRUE(first && second);
  EXPECT_GE(*second - *first, 1900ms) << "Retry-After: 2 was not honoured";
  ASSERT_EQ(replies_.size(), 1U);
  EXPECT_EQ(replies_[0].correlation_id, "corr-42");
  EXPECT_EQ(replies_[0].outcome, messages::Outcome::kDelivered);
  EXPECT_EQ(replies_[0].provider, "twilio");
  EXPECT_EQ(replies_[0].verification_id, j.verification_id);
}

TEST_F(DeliveryIntegrationTest, APermanentRefusalFailsOverToTheNextProvider) {
  ASSERT_FALSE(control("POST", "/_fake/behaviour", {{"statuses", {400}}}).is_null());
  start_worker("sms", {{"OTP_SMS_PROVIDER", "twilio,vonage"},
                       {"OTP_VONAGE_BASE_URL", fake_url_},
                       {"OTP_VONAGE_API_KEY", "fake-vonage-key"},
                       {"OTP_VONAGE_API_SECRET", "fake-vonage-secret"},
                       {"OTP_VONAGE_FROM", "Acme"}});
  auto j = job(6);
  publish({j});

  collect([&] { return all_terminal({j}); }, 60s);

  auto ends = terminal(j.job_id);
  ASSERT_EQ(ends.size(), 1U);
  EXPECT_EQ(ends.begin()->second, "delivery.sent");
  std::vector<std::string> attempted_by;
  std::string sent_by;
  for (const auto& event : events_[j.job_id]) {
    if (event.type == "delivery.attempted")
      attempted_by.push_back(event.data.value("provider", ""));
    if (event.type == "delivery.sent") sent_by = event.data.value("provider", "");
  }
  EXPECT_EQ(attempted_by, std::vector<std::string>{"twilio"});
  EXPECT_EQ(sent_by, "vonage");
  auto all = control("GET", "/_fake/requests");
  ASSERT_EQ(all.size(), 2U) << all.dump();
  EXPECT_EQ(all[0]["provider"], "twilio");
  EXPECT_EQ(all[0]["status"], 400);
  EXPECT_EQ(all[1]["provider"], "vonage");
  EXPECT_EQ(all[1]["status"], 200);
}

TEST_F(DeliveryIntegrationTest, APermanent400FallsBackToTheNextChannel) {
  ASSERT_FALSE(control("POST", "/_fake/behaviour", {{"statuses", {400}}}).is_null());
  start_worker("sms");
  start_worker("whatsapp");
  auto j = job(2);
  j.fallback_channels = {messages::Channel::kWhatsapp};
  publish({j}, {{"delivery_correlation_id", "corr-fb"}, {"reply_partition", "1"}});
  const std::string fallback_id = j.job_id + ".whatsapp";

  collect(
      [&] {
        return !terminal(j.job_id).empty() && !terminal(fallback_id).empty() && !replies_.empty();
      },
      60s);

  auto sms_end = terminal(j.job_id);
  ASSERT_EQ(sms_end.size(), 1U);
  EXPECT_EQ(sms_end.begin()->second, "delivery.failed");
  auto whatsapp_end = terminal(fallback_id);
  ASSERT_EQ(whatsapp_end.size(), 1U);
  EXPECT_EQ(whatsapp_end.begin()->second, "delivery.sent");
  EXPECT_EQ(requests_by_recipient()[j.recipient].size(), 1U);  // one refused send, no retry
  // The WhatsApp outbox got the message (with the code: it is the dev outbox).
  std::ifstream outbox(dir_ + "outbox-whatsapp.jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(outbox, line));
  auto written = nlohmann::json::parse(line);
  EXPECT_EQ(written["job_id"], fallback_id);
  EXPECT_EQ(written["to"], j.recipient);
  EXPECT_TRUE(dlq_.empty());
  ASSERT_EQ(replies_.size(), 1U);  // only the final outcome answers
  EXPECT_EQ(replies_[0].outcome, messages::Outcome::kDelivered);
  EXPECT_EQ(replies_[0].channel, messages::Channel::kWhatsapp);
}

TEST_F(DeliveryIntegrationTest, NothingIsSentAfterTheDeadline) {
  // Every request fails with 503 for a while: the job keeps retrying until its deadline.
  ASSERT_FALSE(
      control("POST", "/_fake/behaviour", {{"statuses", std::vector<int>(200, 503)}}).is_null());
  start_worker("sms");
  auto stale = job(3, -1s);  // already past its deadline
  auto tight = job(4, 2500ms);
  publish({stale, tight});

  collect([&] { return all_terminal({stale, tight}); }, 60s);

  auto stale_end = terminal(stale.job_id);
  ASSERT_EQ(stale_end.size(), 1U);
  EXPECT_EQ(stale_end.begin()->second, "delivery.expired");
  auto requests = requests_by_recipient();
  EXPECT_TRUE(requests[stale.recipient].empty());
  ASSERT_EQ(terminal(tight.job_id).size(), 1U);
  EXPECT_NE(terminal(tight.job_id).begin()->second, "delivery.sent");
  EXPECT_FALSE(requests[tight.recipient].empty());
  for (const auto& request : requests[tight.recipient]) {
    auto at = parse_rfc3339(request["time"].get<std::string>());
    ASSERT_TRUE(at.has_value());
    EXPECT_LT(*at, tight.deadline) << "a request started after the deadline";
  }
}

TEST_F(DeliveryIntegrationTest, Kill9MidBatchEndsEveryJobOnceWithAtMostOneDuplicateSend) {
  ASSERT_FALSE(control("POST", "/_fake/behaviour", {{"latency_ms", 300}}).is_null());
  auto& first = start_worker("sms");
  std::vector<messages::DeliveryJob> jobs;
  for (int i = 0; i < 300; ++i) jobs.push_back(job(100 + i));
  publish(jobs);

  // Kill once some, not all, were sent.
  ASSERT_TRUE(test::eventually(60s, [&] {
    auto all = control("GET", "/_fake/requests");
    return all.is_array() && all.size() >= 40;
  }));
  first.kill9();
  const auto sent_before = control("GET", "/_fake/requests").size();
  ASSERT_LT(sent_before, jobs.size()) << "the batch finished before the crash";
  start_worker("sms");

  collect([&] { return all_terminal(jobs); }, 180s);

  auto requests = requests_by_recipient();
  int duplicated = 0;
  for (const auto& j : jobs) {
    auto ends = terminal(j.job_id);
    ASSERT_EQ(ends.size(), 1U) << j.job_id << " must end exactly once";
    EXPECT_EQ(ends.begin()->second, "delivery.sent");
    const auto sends = requests[j.recipient].size();
    EXPECT_GE(sends, 1U);
    EXPECT_LE(sends, 2U) << "more than one duplicate for one crash: " << j.recipient;
    duplicated += sends > 1 ? 1 : 0;
  }
  RecordProperty("duplicated_jobs", duplicated);
}

/// The worker's log so far (what it printed at info level and above).
std::string log_text(const std::string& path) {
  std::ifstream file(path);
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

TEST_F(DeliveryIntegrationTest, AtItsPendingLimitTheWorkerStopsTakingJobsWithoutPausing) {
  // 8 jobs at most held: the worker takes a record only when one finishes, and never pauses the
  // topic (a pause drops librdkafka's prefetch and refetches ~0.5 s after the resume).
  ASSERT_FALSE(control("POST", "/_fake/behaviour", {{"latency_ms", 20}}).is_null());
  start_worker("sms", {{"OTP_DELIVERY_CONCURRENCY", "8"}, {"OTP_DELIVERY_MAX_PENDING", "8"}});
  std::vector<messages::DeliveryJob> jobs;
  for (int i = 0; i < 120; ++i) jobs.push_back(job(1000 + i));
  publish(jobs);
  expect_each_sent_once(jobs);
  EXPECT_EQ(log_text(dir_ + "otp-delivery-sms.log").find(".paused source=jobs"), std::string::npos);
}

TEST_F(DeliveryIntegrationTest, AFeedFullForLongIsPausedRewoundAndResumedWithoutLosingJobs) {
  // Each round of 4 sends takes 400 ms, longer than OTP_DELIVERY_PAUSE_AFTER_MS: the channel topic
  // is paused while the worker is full (records fetched meanwhile are rewound) and resumed after.
  ASSERT_FALSE(control("POST", "/_fake/behaviour", {{"latency_ms", 400}}).is_null());
  start_worker("sms", {{"OTP_DELIVERY_CONCURRENCY", "4"},
                       {"OTP_DELIVERY_MAX_PENDING", "4"},
                       {"OTP_DELIVERY_PAUSE_AFTER_MS", "100"}});
  std::vector<messages::DeliveryJob> jobs;
  for (int i = 0; i < 24; ++i) jobs.push_back(job(2000 + i));
  publish(jobs);
  expect_each_sent_once(jobs);
  const auto log = log_text(dir_ + "otp-delivery-sms.log");
  EXPECT_NE(log.find(".paused source=jobs"), std::string::npos);
  EXPECT_NE(log.find(".resumed source=jobs"), std::string::npos);
}

/// Runs otpctl with the test's broker and prefix; its stdout.
std::string run_otpctl(const std::vector<std::string>& args, const std::string& brokers,
                       const std::string& prefix, const std::string& log) {
  std::vector<std::string> argv{OTP_OTPCTL_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  auto process =
      Subprocess::start(argv, {{"OTP_KAFKA_BROKERS", brokers}, {"OTP_TOPIC_PREFIX", prefix}}, log);
  if (!process) return {};
  std::string out;
  while (auto line = process->read_line(60s)) out += *line + "\n";
  return out;
}

TEST_F(DeliveryIntegrationTest, AFailedJobIsDeadLetteredListedWithoutSecretsAndRedriven) {
  ASSERT_FALSE(control("POST", "/_fake/behaviour", {{"statuses", {400}}}).is_null());
  start_worker("sms");
  auto j = job(5);
  publish({j});
  collect([&] { return !terminal(j.job_id).empty() && !dlq_.empty(); }, 60s);
  ASSERT_EQ(terminal(j.job_id).size(), 1U);
  EXPECT_EQ(terminal(j.job_id).begin()->second, "delivery.failed");
  ASSERT_EQ(dlq_.size(), 1U);
  EXPECT_EQ(dlq_[0].header("dlq_source_topic"), topics_.delivery_sms);

  const auto listed = run_otpctl({"dlq", "list"}, brokers_, prefix_, dir_ + "otpctl.log");
  EXPECT_NE(listed.find("job_id=" + j.job_id), std::string::npos) << listed;
  EXPECT_NE(listed.find("error_code=\"permanent\""), std::string::npos) << listed;
  EXPECT_EQ(listed.find(j.sealed_code.data), std::string::npos) << "the sealed code was printed";
  EXPECT_EQ(listed.find(j.recipient), std::string::npos) << "the recipient was printed";

  // The provider is fixed: redrive, and the job is delivered.
  const auto redriven = run_otpctl({"dlq", "redrive"}, brokers_, prefix_, dir_ + "otpctl.log");
  EXPECT_NE(redriven.find("1 records redriven"), std::string::npos) << redriven;
  collect(
      [&] {
        for (const auto& [id, type] : terminal(j.job_id)) {
          if (type == "delivery.sent") return true;
        }
        return false;
      },
      60s);
  bool sent = false;
  for (const auto& [id, type] : terminal(j.job_id)) sent = sent || type == "delivery.sent";
  EXPECT_TRUE(sent);
  // A second redrive finds nothing new: the first one committed its offset.
  const auto again = run_otpctl({"dlq", "redrive"}, brokers_, prefix_, dir_ + "otpctl.log");
  EXPECT_NE(again.find("0 records redriven"), std::string::npos) << again;
}

}  // namespace
}  // namespace otp
