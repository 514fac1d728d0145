// otpctl: the operator's command line. Today: topic creation; tenants, keys, migrations and DLQ
// redrive follow with their issues.

#include "common/config/env.h"
#include "common/kafka/admin.h"
#include "common/log/log.h"
#include "common/messages/topics.h"

#include <cstdio>
#include <string>

namespace {

constexpr char kUsage[] =
    "usage: otpctl topics ensure   create every pipeline topic that is missing\n"
    "       otpctl topics list     print the topics and their partition counts\n"
    "environment: OTP_KAFKA_BROKERS (required for ensure), OTP_TOPIC_PREFIX (default otp.),\n"
    "             OTP_KAFKA_REPLICATION (default 1)\n";

int topics(const std::string& verb) {
  otp::config::EnvReader env;
  auto prefix = env.string("OTP_TOPIC_PREFIX", "otp.");
  auto specs = otp::messages::Topics::with_prefix(prefix).specs();
  if (verb == "list") {
    for (const auto& spec : specs) {
      std::printf("%-32s partitions=%d retention_ms=%lld\n", spec.name.c_str(), spec.partitions,
                  static_cast<long long>(spec.retention_ms));
    }
    return 0;
  }
  if (verb != "ensure") {
    std::fputs(kUsage, stderr);
    return 2;
  }
  otp::kafka::KafkaSettings settings{
      .brokers = env.required_string("OTP_KAFKA_BROKERS"), .client_id = "otpctl", .properties = {}};
  auto replication = static_cast<int>(env.integer("OTP_KAFKA_REPLICATION", 1, 1, 5));
  if (auto valid = env.finish(); !valid) {
    std::fprintf(stderr, "otpctl: %s\n", valid.error().message.c_str());
    return 2;
  }
  auto done = otp::kafka::ensure_topics(settings, specs, replication, std::chrono::seconds(30));
  if (!done) {
    std::fprintf(stderr, "otpctl: %s\n", done.error().message.c_str());
    return 1;
  }
  std::printf("topics ensured: %zu with prefix %s\n", specs.size(), prefix.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  otp::log::init("otpctl", "warn");
  if (argc >= 3 && std::string(argv[1]) == "topics") return topics(argv[2]);
  std::fputs(kUsage, stderr);
  return 2;
}
