// Kafka as a public interface (issue 3): an upstream team publishes raw JSON with the kcat CLI,
// not with our producer, and reads the outcome back with kcat. Runs the real otp-generator and
// otp-delivery (outbox provider) against the test stack's Kafka and Redis, on topics of its own.

#include "common/kafka/admin.h"
#include "common/messages/topics.h"
#include "common/random/rng.h"
#include "common/time/clock.h"
#include "tests/support/stack_env.h"
#include "tests/support/subprocess.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace otp {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using test::eventually;
using test::required_env;
using test::Subprocess;

/// Runs a shell command (only ever built from this test's own ids) and returns its stdout and
/// exit status.
std::pair<std::string, int> run(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return {out, -1};
  std::array<char, 4096> buffer{};
  while (auto got = std::fread(buffer.data(), 1, buffer.size(), pipe))
    out.append(buffer.data(), got);
  return {out, ::pclose(pipe)};
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

class KafkaPublicInterfaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    brokers_ = required_env("OTP_TEST_KAFKA_BROKERS");
    const auto redis_host = required_env("OTP_TEST_REDIS_HOST");
    const auto redis_port = required_env("OTP_TEST_REDIS_PORT");
    const auto pg_url = required_env("OTP_TEST_PG_URL");
    ASSERT_FALSE(HasFailure());
    ASSERT_EQ(run("kcat -V >/dev/null 2>&1").second, 0) << "the kcat CLI is not installed";

    OpenSslRng rng;
    run_id_ = random_hex(rng, 4);
    prefix_ = "kpub" + run_id_ + ".";
    topics_ = messages::Topics::with_prefix(prefix_);
    // A recipient of this run only: the per-destination send limit lives in the shared Redis.
    recipient_ = "+1555" + std::to_string(1'000'000 + std::stoul(run_id_, nullptr, 16) % 9'000'000);
    dir_ = std::filesystem::temp_directory_path() / ("otp-kafka-public-" + run_id_);
    std::filesystem::create_directories(dir_);
    outbox_ = dir_ / "outbox.jsonl";

    auto created = kafka::ensure_topics(
        {.brokers = brokers_, .client_id = "kafka-public-test", .properties = {}}, topics_.specs(),
        1, 30s);
    ASSERT_TRUE(created.has_value()) << created.error().message;

    const std::vector<std::pair<std::string, std::string>> env = {
        {"OTP_KAFKA_BROKERS", brokers_},
        {"OTP_TOPIC_PREFIX", prefix_},
        {"OTP_CONSUMER_GROUP", "kpub-" + run_id_},
        {"OTP_LOG_LEVEL", "debug"},
        {"OTP_REDIS_HOST", redis_host},
        {"OTP_REDIS_PORT", redis_port},
        {"OTP_PG_URL", pg_url},
        {"OTP_HMAC_KEYS", "h1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="},
        {"OTP_SEAL_KEYS", "s1:HxwdHhkaGxwVFhcYERITFA0ODxAJCgsMBQYHCAECAwQ="},
        {"OTP_SMS_PROVIDER", "outbox"},
        {"OTP_OUTBOX_PATH", outbox_.string()},
    };
    const std::string bin = OTP_BINARY_DIR "/bin";
    start("otp-generator", {bin + "/otp-generator"}, env);
    start("otp-delivery-sms", {bin + "/otp-delivery", "--channel", "sms"}, env);
  }

  void TearDown() override {
    for (auto& [name, process] : services_) {
      process.terminate(15s);
      auto status = process.exit_status();
      EXPECT_TRUE(status.has_value() && *status == 0)
          << name << " did not exit cleanly on SIGTERM; log in " << dir_;
    }
    services_.clear();
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  void start(const std::string& name, std::vector<std::string> argv,
             const std::vector<std::pair<std::string, std::string>>& env) {
    auto process = Subprocess::start(std::move(argv), env, (dir_ / (name + ".log")).string());
    ASSERT_TRUE(process.has_value()) << name << ": " << process.error().message;
    services_.emplace_back(name, std::move(*process));
  }

  /// Publishes `value` as one record with `kcat -P` (a file argument is sent as one message).
  void kcat_publish(const std::string& topic, const std::string& key, const std::string& value) {
    const auto file = dir_ / ("record-" + std::to_string(++published_) + ".json");
    std::ofstream(file) << value;
    auto [out, status] = run("kcat -P -b '" + brokers_ + "' -t '" + topic + "' -k '" + key + "' '" +
                             file.string() + "' 2>&1");
    ASSERT_EQ(status, 0) << "kcat -P failed: " << out;
  }

  /// Every record of `topic` as `<headers>\t<value>` lines, read with `kcat -C -e`.
  std::vector<std::string> kcat_read(const std::string& topic) {
    auto [out, status] = run("kcat -C -q -b '" + brokers_ + "' -t '" + topic +
                             "' -o beginning -e -f '%h\\t%s\\n' 2>/dev/null");
    if (status != 0) return {};
    return lines_of(out);
  }

  std::vector<json> events_of(const std::string& verification_id) {
    std::vector<json> out;
    for (const auto& line : kcat_read(topics_.events)) {
      auto value = json::parse(line.substr(line.find('\t') + 1), nullptr, false);
      if (value.is_object() && value.value("verification_id", "") == verification_id) {
        out.push_back(value);
      }
    }
    return out;
  }

  bool has_event(const std::string& verification_id, const std::string& type) {
    for (const auto& event : events_of(verification_id)) {
      if (event.value("type", "") == type) return true;
    }
    return false;
  }

  /// The outbox line the delivery process wrote for this run's recipient, if any.
  std::optional<json> delivered() {
    std::ifstream in(outbox_);
    for (std::string line; std::getline(in, line);) {
      auto value = json::parse(line, nullptr, false);
      if (value.is_object() && value.value("to", "") == recipient_) return value;
    }
    return std::nullopt;
  }

  /// The DLQ record whose value is `value`, as `<headers>\t<value>`.
  std::optional<std::string> dead_letter(const std::string& value) {
    for (const auto& line : kcat_read(topics_.dlq)) {
      if (line.size() >= value.size() &&
          line.compare(line.size() - value.size(), value.size(), value) == 0) {
        return line;
      }
    }
    return std::nullopt;
  }

  static std::string now() { return format_rfc3339(std::chrono::system_clock::now()); }

  std::string brokers_;
  std::string run_id_;
  std::string prefix_;
  messages::Topics topics_;
  std::string recipient_;
  std::filesystem::path dir_;
  std::filesystem::path outbox_;
  int published_ = 0;
  std::vector<std::pair<std::string, Subprocess>> services_;
};

TEST_F(KafkaPublicInterfaceTest, RawKcatSendAndVerifyRequestsDeliverACodeAndApproveIt) {
  const std::string tenant = "dev";
  const json send = {{"schema_version", 1}, {"request_id", "kpub-send-" + run_id_},
                     {"tenant", tenant},    {"recipient", recipient_},
                     {"channel", "sms"},    {"requested_at", now()}};
  kcat_publish(topics_.send_requests, tenant + ":" + recipient_, send.dump());

  std::optional<json> sms;
  ASSERT_TRUE(eventually(60s, [&] { return (sms = delivered()).has_value(); }))
      << "no SMS for the kcat send request in " << outbox_;
  const std::string verification_id = sms->value("verification_id", "");
  ASSERT_TRUE(std::regex_match(verification_id, std::regex("otp_[0-9a-f]{32}")));
  std::smatch digits;
  const std::string body = sms->value("body", "");
  ASSERT_TRUE(std::regex_search(body, digits, std::regex("(^|[^0-9])([0-9]{4,10})([^0-9]|$)")))
      << "no code in the delivered message";
  const std::string code = digits[2];
  EXPECT_TRUE(has_event(verification_id, "verification.created"));

  const json verify = {{"schema_version", 1}, {"request_id", "kpub-verify-" + run_id_},
                       {"tenant", tenant},    {"verification_id", verification_id},
                       {"otp_code", code},    {"requested_at", now()}};
  kcat_publish(topics_.verify_requests, verification_id, verify.dump());

  ASSERT_TRUE(eventually(60s, [&] { return has_event(verification_id, "verification.approved"); }))
      << "no verification.approved on " << topics_.events << "; logs in " << dir_;
  for (const auto& event : events_of(verification_id)) {
    EXPECT_EQ(event.dump().find(code), std::string::npos) << "an event carries the code";
  }
}

TEST_F(KafkaPublicInterfaceTest, GarbageAndSchemaViolationsGoToTheDlqWithAReason) {
  const std::string garbage = "not json " + run_id_;
  kcat_publish(topics_.send_requests, "dev:garbage", garbage);
  // Valid JSON that breaks the schema: a tenant outside [A-Za-z0-9._:-].
  const json invalid = {{"schema_version", 1},
                        {"request_id", "kpub-bad-" + run_id_},
                        {"tenant", "no such tenant!"},
                        {"recipient", recipient_},
                        {"channel", "sms"},
                        {"requested_at", now()}};
  kcat_publish(topics_.send_requests, "dev:invalid", invalid.dump());
  const json bad_version = {{"schema_version", 2}, {"request_id", "kpub-v2-" + run_id_}};
  kcat_publish(topics_.verify_requests, "dev:v2", bad_version.dump());

  for (const auto& value : {garbage, invalid.dump(), bad_version.dump()}) {
    std::optional<std::string> parked;
    ASSERT_TRUE(eventually(60s, [&] { return (parked = dead_letter(value)).has_value(); }))
        << "not dead-lettered: " << value << "; logs in " << dir_;
    // kcat prints headers as name=value,name=value; dlq_reason comes first.
    std::smatch reason;
    ASSERT_TRUE(std::regex_search(*parked, reason, std::regex("dlq_reason=([^,]+),"))) << *parked;
    // From the generator's decoder ("send request: ...") or, with the schema validator wired in
    // front of it, from the schema ("send-request.v1.json: /tenant: ...").
    EXPECT_TRUE(
        std::regex_search(reason[1].str(), std::regex("^((send|verify) request: |"
                                                      "(send|verify)-request\\.v1\\.json: )")))
        << reason[1];
    EXPECT_NE(parked->find("dlq_source_topic=" + prefix_), std::string::npos) << *parked;
  }
  EXPECT_FALSE(delivered().has_value()) << "an invalid request was delivered";
}

}  // namespace
}  // namespace otp
