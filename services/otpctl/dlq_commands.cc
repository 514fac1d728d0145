#include "services/otpctl/dlq_commands.h"

#include "common/config/env.h"
#include "common/kafka/consumer.h"
#include "common/kafka/producer.h"
#include "common/messages/messages.h"

#include <array>
#include <charconv>
#include <chrono>
#include <unistd.h>

namespace otp::otpctl {
namespace {

using namespace std::chrono_literals;

constexpr char kUsage[] =
    "usage: otpctl dlq list [--limit N]      show the dead-lettered records (default 100)\n"
    "       otpctl dlq redrive [--topic T] [--limit N]\n"
    "                                        republish them to their source topic (only those\n"
    "                                        from T) and commit the redrive group's offset\n";

/// Reads `topic` in group `group` until `limit` records or no record for `idle`.
template <class Visit>
Result<void> read_dlq(kafka::Consumer& consumer, std::size_t limit, Visit visit) {
  std::size_t seen = 0;
  const auto start = std::chrono::steady_clock::now();
  auto last = start;
  while (seen < limit) {
    auto polled = consumer.poll(200ms);
    if (!polled) return tl::unexpected(polled.error());
    const auto now = std::chrono::steady_clock::now();
    if (!*polled) {
      // The first poll also waits for the group assignment.
      if (now - last > (seen == 0 ? 10s : 3s)) break;
      continue;
    }
    last = now;
    ++seen;
    if (!visit(**polled)) break;
  }
  return {};
}

std::optional<std::size_t> parse_limit(const std::string& text) {
  std::size_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value == 0) return std::nullopt;
  return value;
}

}  // namespace

std::string describe_dead_letter(const kafka::Record& record) {
  std::string line = "offset=" + std::to_string(record.offset) + " key=" + record.key;
  for (const auto& [name, value] : record.headers) {
    if (name.starts_with("dlq_")) line += " " + name.substr(4) + "=\"" + value + "\"";
  }
  if (auto job = messages::decode_delivery_job(record.value)) {
    line += " job_id=" + job->job_id + " tenant=" + job->tenant +
            " verification_id=" + job->verification_id +
            " channel=" + std::string(messages::to_string(job->channel)) +
            " attempt=" + std::to_string(job->attempt) +
            " deadline=" + format_rfc3339(job->deadline);
  } else {
    line += " bytes=" + std::to_string(record.value.size());
  }
  return line;
}

std::optional<kafka::OutboundRecord> redrive_record(const kafka::Record& parked,
                                                    const std::optional<std::string>& only_topic) {
  auto source = parked.header(messages::kHeaderDlqSourceTopic);
  if (!source || source->empty()) return std::nullopt;
  if (only_topic && *only_topic != *source) return std::nullopt;
  kafka::OutboundRecord out{.topic = *source,
                            .key = parked.key,
                            .value = parked.value,
                            .headers = {},
                            .partition = std::nullopt};
  for (const auto& header : parked.headers) {
    if (!header.first.starts_with("dlq_")) out.headers.push_back(header);
  }
  return out;
}

int dlq_command(const std::vector<std::string>& args) {
  if (args.empty() || (args[0] != "list" && args[0] != "redrive")) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const bool redrive = args[0] == "redrive";
  std::size_t limit = redrive ? SIZE_MAX : 100;
  std::optional<std::string> only_topic;
  for (std::size_t i = 1; i < args.size(); i += 2) {
    if (i + 1 >= args.size()) {
      std::fputs(kUsage, stderr);
      return 2;
    }
    if (args[i] == "--limit") {
      auto parsed = parse_limit(args[i + 1]);
      if (!parsed) {
        std::fputs("otpctl: --limit must be a positive integer\n", stderr);
        return 2;
      }
      limit = *parsed;
    } else if (args[i] == "--topic" && redrive) {
      only_topic = args[i + 1];
    } else {
      std::fputs(kUsage, stderr);
      return 2;
    }
  }
  config::EnvReader env;
  kafka::KafkaSettings settings{
      .brokers = env.required_string("OTP_KAFKA_BROKERS"), .client_id = "otpctl", .properties = {}};
  auto topics = messages::Topics::with_prefix(env.string("OTP_TOPIC_PREFIX", "otp."));
  if (auto valid = env.finish(); !valid) {
    std::fprintf(stderr, "otpctl: %s\n", valid.error().message.c_str());
    return 2;
  }
  // list reads with a throwaway group and stores nothing; redrive has one group, so a second run
  // continues after what the first one committed.
  const std::string group =
      redrive ? "otpctl-dlq-redrive"
              : "otpctl-dlq-list-" + std::to_string(::getpid()) + "-" +
                    std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  auto consumer = kafka::Consumer::create(settings, group);
  if (!consumer) {
    std::fprintf(stderr, "otpctl: %s\n", consumer.error().message.c_str());
    return 1;
  }
  if (auto subscribed = (*consumer)->subscribe({topics.dlq}); !subscribed) {
    std::fprintf(stderr, "otpctl: %s\n", subscribed.error().message.c_str());
    return 1;
  }

  if (!redrive) {
    std::size_t shown = 0;
    auto read = read_dlq(**consumer, limit, [&](const kafka::Record& record) {
      std::printf("%s\n", describe_dead_letter(record).c_str());
      ++shown;
      return true;
    });
    (*consumer)->close();
    if (!read) {
      std::fprintf(stderr, "otpctl: %s\n", read.error().message.c_str());
      return 1;
    }
    std::printf("dlq: %zu records shown from %s\n", shown, topics.dlq.c_str());
    return 0;
  }

  auto producer = kafka::KafkaProducer::create(settings);
  if (!producer) {
    std::fprintf(stderr, "otpctl: %s\n", producer.error().message.c_str());
    return 1;
  }
  std::size_t redriven = 0;
  std::size_t left = 0;
  bool storing = true;  // offsets advance only over a contiguous run of redriven records
  Result<void> failure;
  auto read = read_dlq(**consumer, limit, [&](const kafka::Record& record) {
    auto out = redrive_record(record, only_topic);
    if (!out) {
      ++left;
      storing = false;  // keep it for a later run: nothing after it is committed
      return true;
    }
    std::array<kafka::OutboundRecord, 1> one{std::move(*out)};
    if (auto sent = kafka::publish_and_wait(**producer, one, 30s); !sent) {
      failure = tl::unexpected(sent.error());
      return false;
    }
    ++redriven;
    std::printf("redriven %s -> %s\n", describe_dead_letter(record).c_str(), one[0].topic.c_str());
    if (storing) {
      auto stored = (*consumer)->store_offset({record.topic, record.partition}, record.offset + 1);
      if (!stored) std::fprintf(stderr, "otpctl: %s\n", stored.error().message.c_str());
    }
    return true;
  });
  (*consumer)->close();  // commits the stored offsets
  if (!read) failure = tl::unexpected(read.error());
  std::printf("dlq: %zu records redriven, %zu left in place\n", redriven, left);
  if (!failure) {
    std::fprintf(stderr, "otpctl: %s\n", failure.error().message.c_str());
    return 1;
  }
  return 0;
}

}  // namespace otp::otpctl
