// End-to-end throughput and latency of otp-generator through Kafka and Redis (not a timed test).
//
// Starts the real otp-generator binary on a fresh topic prefix and consumer group against a
// running stack, then measures three phases from this process (which is the publisher and the
// reply reader, like the intake):
//   1. sends:   publish N send requests at once; requests/s until the last reply arrived
//               (delivery jobs counted too);
//   2. checks:  publish N verify requests (the right code, one per verification of phase 1) at
//               once; requests/s until the last reply;
//   3. latency: verify requests paced at a fixed rate on fresh verifications; p50/p99/max from
//               publish to reply.
// Usage (addresses from `scripts/stack env --test`):
//   otp_generator_bench --generator build/release/bin/otp-generator --brokers 127.0.0.1:38092
//     --redis-port 38079 [--pg-url URL] [--requests 10000] [--rate 1000] [--latency-requests 3000]
//     [--instances 1]
// (one command line). `--instances N` starts N generator processes in one consumer group (the
// request topics have 2 partitions by default, ADR 0016; more processes than partitions idle):
// the documented way to scale the generator out.

#include "common/crypto/key_ring.h"
#include "common/crypto/sealer.h"
#include "common/kafka/admin.h"
#include "common/kafka/consumer.h"
#include "common/kafka/producer.h"
#include "common/messages/messages.h"
#include "common/messages/topics.h"
#include "common/random/rng.h"
#include "common/redis/redis_client.h"
#include "tests/support/subprocess.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>
#include <vector>

namespace otp {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr char kHmacKeys[] = "h1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
constexpr char kSealKeys[] = "s1:AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=";

struct Options {
  std::string generator;
  std::string brokers = "127.0.0.1:9092";
  std::string redis_host = "127.0.0.1";
  std::string redis_port = "6379";
  std::string pg_url;
  std::string tenant = "dev";
  int requests = 10000;
  int rate = 1000;
  int latency_requests = 3000;
  int instances = 1;
};

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "generator_bench: %s\n", message.c_str());
  std::exit(1);
}

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--generator")
      options.generator = value;
    else if (flag == "--brokers")
      options.brokers = value;
    else if (flag == "--redis-host")
      options.redis_host = value;
    else if (flag == "--redis-port")
      options.redis_port = value;
    else if (flag == "--pg-url")
      options.pg_url = value;
    else if (flag == "--tenant")
      options.tenant = value;
    else if (flag == "--requests")
      options.requests = std::stoi(value);
    else if (flag == "--rate")
      options.rate = std::stoi(value);
    else if (flag == "--latency-requests")
      options.latency_requests = std::stoi(value);
    else if (flag == "--instances")
      options.instances = std::stoi(value);
    else
      die("unknown flag " + flag);
  }
  if (options.generator.empty()) die("--generator <path to otp-generator> is required");
  return options;
}

class Bench {
 public:
  explicit Bench(Options options) : options_(std::move(options)) {
    const auto run = random_hex(rng_, 4);
    run_ = run;
    prefix_ = "bench" + run + ".";
    topics_ = messages::Topics::with_prefix(prefix_);
    settings_ = {.brokers = options_.brokers, .client_id = "generator-bench", .properties = {}};
    if (auto ensured = kafka::ensure_topics(settings_, topics_.specs(), 1, 30s); !ensured) {
      die(ensured.error().message);
    }
    auto producer = kafka::KafkaProducer::create(settings_);
    if (!producer) die(producer.error().message);
    producer_ = std::move(*producer);
    auto reader = kafka::Consumer::create(settings_, "bench-reader-" + run);
    if (!reader) die(reader.error().message);
    reader_ = std::move(*reader);
    if (!reader_->subscribe({topics_.replies, topics_.delivery_sms})) die("subscribe failed");
    auto keys = crypto::KeyRing::parse(kSealKeys);
    if (!keys) die(keys.error().message);
    seal_keys_.emplace(std::move(*keys));
    sealer_.emplace(*seal_keys_, rng_);

    log_ = (std::filesystem::temp_directory_path() / ("otp-generator-bench-" + run + ".log"));
    std::vector<std::pair<std::string, std::string>> env = {
        {"OTP_KAFKA_BROKERS", options_.brokers},
        {"OTP_TOPIC_PREFIX", prefix_},
        {"OTP_CONSUMER_GROUP", "bench-" + run},
        {"OTP_REDIS_HOST", options_.redis_host},
        {"OTP_REDIS_PORT", options_.redis_port},
        {"OTP_HMAC_KEYS", kHmacKeys},
        {"OTP_SEAL_KEYS", kSealKeys},
        {"OTP_LOG_LEVEL", "warn"},
        {"OTP_VERIFY_MAX_AGE_MS", "600000"},
        // Measure the generator, not the tenant's token bucket (settings from env, the default).
        {"OTP_SEND_RATE_PER_SECOND", "10000000"},
        {"OTP_SENDS_PER_DESTINATION", "1000000"},
        {"OTP_SEND_BURST", "1000000000"}};
    if (!options_.pg_url.empty()) env.emplace_back("OTP_PG_URL", options_.pg_url);
    if (options_.instances < 1 || options_.instances > 6) die("--instances must be 1..6");
    for (int i = 0; i < options_.instances; ++i) {
      auto log = log_.string() + (i == 0 ? "" : "." + std::to_string(i));
      auto process = test::Subprocess::start({options_.generator}, env, log);
      if (!process) die(process.error().message);
      generators_.push_back(std::move(*process));
    }
  }

  ~Bench() {
    for (auto& generator : generators_) generator.terminate(20s);
    reader_->close();
  }

  Bench(const Bench&) = delete;
  Bench& operator=(const Bench&) = delete;

  void run() {
    // Warm-up: the generator joins its group, loads its scripts, connects to everything.
    // More than one instance: a send per partition, so every member has joined and been assigned.
    auto warm = make_sends(options_.instances > 1 ? 12 : 1, "warm");
    publish(warm.records);
    wait_replies(warm.ids, 120s);

    std::printf("machine: %u hardware threads; broker, Redis and this publisher co-located\n",
                std::thread::hardware_concurrency());
    // Sized up front: no rehash of tens of thousands of entries inside the timed window.
    const auto expected =
        static_cast<std::size_t>(2 * options_.requests + options_.latency_requests + 16);
    replies_.reserve(expected);
    jobs_.reserve(expected);
    auto sends = make_sends(options_.requests, "s");
    auto cpu = cpu_now();
    const auto send_seconds = timed_burst(sends.records, sends.ids);
    std::printf("sends:   %d requests in %.2f s = %.0f requests/s (%d pending, %zu jobs so far)\n",
                options_.requests, send_seconds, options_.requests / send_seconds,
                count_outcome(sends.ids, messages::Outcome::kPending), jobs_.size());
    print_cpu("sends", cpu, options_.requests);

    std::vector<kafka::OutboundRecord> checks;
    std::vector<std::string> check_ids;
    for (std::size_t i = 0; i < sends.vids.size(); ++i) {
      auto id = run_ + "c" + std::to_string(i);
      checks.push_back(verify(sends.vids[i], code_of(sends.vids[i]), id));
      check_ids.push_back(id);
    }
    cpu = cpu_now();
    const auto check_seconds = timed_burst(checks, check_ids);
    std::printf("checks:  %zu requests in %.2f s = %.0f requests/s (%d approved)\n", checks.size(),
                check_seconds, static_cast<double>(checks.size()) / check_seconds,
                count_outcome(check_ids, messages::Outcome::kApproved));
    print_cpu("checks", cpu, static_cast<int>(checks.size()));

    auto fresh = make_sends(options_.latency_requests, "l");
    publish(fresh.records);
    wait_replies(fresh.ids, 300s);
    wait_jobs(fresh.vids, 60s);
    paced_latency(fresh.vids);
  }

 private:
  /// CPU seconds used so far by the generator processes (/proc/<pid>/stat utime + stime) and by
  /// Redis (INFO cpu): per request, the figure that moves least with the machine's load.
  struct Cpu {
    double generator = 0;
    double redis = 0;
    double publisher = 0;  // this process: publishing and reading replies and jobs
  };

  Cpu cpu_now() {
    Cpu cpu;
    struct rusage self {};
    if (::getrusage(RUSAGE_SELF, &self) == 0) {
      cpu.publisher = static_cast<double>(self.ru_utime.tv_sec + self.ru_stime.tv_sec) +
                      static_cast<double>(self.ru_utime.tv_usec + self.ru_stime.tv_usec) / 1e6;
    }
    const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
    for (auto& generator : generators_) {
      std::FILE* stat =
          std::fopen(("/proc/" + std::to_string(generator.pid()) + "/stat").c_str(), "r");
      if (stat == nullptr) continue;
      char line[2048] = {};
      const bool read = std::fgets(line, sizeof line, stat) != nullptr;
      std::fclose(stat);
      if (!read) continue;
      // Fields after the ")" closing the command name: state is field 3, utime 14, stime 15.
      const char* rest = std::strrchr(line, ')');
      if (rest == nullptr) continue;
      unsigned long utime = 0;
      unsigned long stime = 0;
      if (std::sscanf(rest + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
                      &stime) == 2) {
        cpu.generator += static_cast<double>(utime + stime) / tick;
      }
    }
    redis::RedisClient client(
        redis::RedisOptions{.host = options_.redis_host, .port = std::stoi(options_.redis_port)});
    if (auto info = client.command({"INFO", "cpu"}); info && info->string() != nullptr) {
      const auto& text = *info->string();
      for (const char* field : {"used_cpu_sys:", "used_cpu_user:"}) {
        const auto at = text.find(field);
        if (at != std::string::npos) cpu.redis += std::atof(text.c_str() + at + std::strlen(field));
      }
    }
    return cpu;
  }

  void print_cpu(const char* phase, const Cpu& before, int requests) {
    const auto after = cpu_now();
    std::printf(
        "cpu:     %s: generator %.1f us per request, redis %.1f us per request (publisher %.1f)\n",
        phase, (after.generator - before.generator) * 1e6 / requests,
        (after.redis - before.redis) * 1e6 / requests,
        (after.publisher - before.publisher) * 1e6 / requests);
  }

  struct Batch {
    std::vector<kafka::OutboundRecord> records;
    std::vector<std::string> ids;
    std::vector<std::string> vids;
  };

  Batch make_sends(int count, const std::string& tag) {
    Batch batch;
    for (int i = 0; i < count; ++i) {
      messages::SendRequested request;
      request.request_id = run_ + tag + std::to_string(i);  // unique across runs
      request.tenant = options_.tenant;
      request.verification_id = "otp_" + random_hex(rng_, 16);
      request.recipient = "+1415" + std::to_string(2000000 + next_recipient_++ % 8000000);
      request.channel = messages::Channel::kSms;
      request.requested_at = std::chrono::system_clock::now();
      batch.records.push_back(record(topics_.send_requests, request.tenant + request.recipient,
                                     messages::encode(request), request.request_id));
      batch.ids.push_back(request.request_id);
      batch.vids.push_back(request.verification_id);
    }
    return batch;
  }

  kafka::OutboundRecord verify(const std::string& vid, const std::string& code,
                               const std::string& id) {
    messages::VerifyRequested request;
    request.request_id = id;
    request.tenant = options_.tenant;
    request.verification_id = vid;
    request.sealed_code = sealer_->seal(code, vid);  // as the intake does
    request.requested_at = std::chrono::system_clock::now();
    return record(topics_.verify_requests, vid, messages::encode(request), id);
  }

  kafka::OutboundRecord record(const std::string& topic, std::string key, std::string value,
                               const std::string& id) {
    return {.topic = topic,
            .key = std::move(key),
            .value = std::move(value),
            .headers = {{"correlation_id", id},
                        {"reply_partition", std::to_string(next_partition_++ % 8)}},
            .partition = std::nullopt};
  }

  void publish(const std::vector<kafka::OutboundRecord>& records) {
    if (auto sent = kafka::publish_and_wait(*producer_, std::span(records), 120s); !sent) {
      die(sent.error().message);
    }
  }

  /// Publishes everything (in a thread) and reads until every id has a reply: seconds elapsed.
  double timed_burst(const std::vector<kafka::OutboundRecord>& records,
                     const std::vector<std::string>& ids) {
    const auto start = Clock::now();
    std::thread publisher([&] { publish(records); });
    wait_replies(ids, 600s);
    publisher.join();
    return std::chrono::duration<double>(Clock::now() - start).count();
  }

  /// Keeps what arrives as it came (the record's key is the correlation id of a reply and the
  /// verification id of a delivery job): decoding waits until the clock has stopped, so the
  /// publisher's own JSON work does not compete with the generator for the two cores.
  void poll_once(std::chrono::milliseconds timeout) {
    auto polled = reader_->poll(timeout);
    if (!polled || !*polled) return;
    auto& got = **polled;
    if (got.topic == topics_.replies) {
      replies_.try_emplace(std::move(got.key), std::move(got.value), Clock::now());
    } else if (got.topic == topics_.delivery_sms) {
      jobs_.try_emplace(std::move(got.key), std::move(got.value));
    }
  }

  messages::Reply reply_of(const std::string& id) const {
    auto reply = messages::decode_reply(replies_.at(id).first);
    if (!reply) die("undecodable reply: " + reply.error().message);
    return std::move(*reply);
  }

  void wait_replies(const std::vector<std::string>& ids, std::chrono::seconds limit) {
    const auto deadline = Clock::now() + limit;
    for (const auto& id : ids) {
      while (!replies_.contains(id)) {
        if (Clock::now() > deadline) die("timed out waiting for replies; log " + log_.string());
        poll_once(100ms);
      }
    }
  }

  void wait_jobs(const std::vector<std::string>& vids, std::chrono::seconds limit) {
    const auto deadline = Clock::now() + limit;
    for (const auto& vid : vids) {
      while (!jobs_.contains(vid)) {
        if (Clock::now() > deadline) die("timed out waiting for jobs; log " + log_.string());
        poll_once(100ms);
      }
    }
  }

  std::string code_of(const std::string& vid) {
    wait_jobs({vid}, 60s);
    auto job = messages::decode_delivery_job(jobs_.at(vid));
    if (!job) die("undecodable delivery job: " + job.error().message);
    auto code = sealer_->unseal(job->sealed_code, vid);
    if (!code) die(code.error().message);
    return *code;
  }

  int count_outcome(const std::vector<std::string>& ids, messages::Outcome outcome) const {
    int count = 0;
    for (const auto& id : ids) count += reply_of(id).outcome == outcome ? 1 : 0;
    return count;
  }

  /// Verify requests at `rate`/s from one thread; the latency of each is publish -> reply read.
  void paced_latency(const std::vector<std::string>& vids) {
    std::vector<kafka::OutboundRecord> checks;
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < vids.size(); ++i) {
      ids.push_back(run_ + "p" + std::to_string(i));
      checks.push_back(verify(vids[i], code_of(vids[i]), ids.back()));
    }
    std::unordered_map<std::string, Clock::time_point> sent_at;
    std::mutex mutex;
    const auto interval = std::chrono::nanoseconds(1'000'000'000LL / options_.rate);
    std::thread publisher([&] {
      auto next = Clock::now();
      for (auto& check : checks) {
        std::this_thread::sleep_until(next);
        next += interval;
        {
          std::lock_guard lock(mutex);
          sent_at[check.headers[0].second] = Clock::now();
        }
        if (auto produced = producer_->produce(check, [](const Result<void>&) {}); !produced) {
          die(produced.error().message);
        }
      }
      if (!producer_->flush(60s)) die("flush timed out");
    });
    wait_replies(ids, 300s);
    publisher.join();
    std::vector<double> latencies_ms;
    for (const auto& id : ids) {
      latencies_ms.push_back(
          std::chrono::duration<double, std::milli>(replies_.at(id).second - sent_at.at(id))
              .count());
    }
    std::sort(latencies_ms.begin(), latencies_ms.end());
    auto at = [&](double q) {
      return latencies_ms[static_cast<std::size_t>(q *
                                                   static_cast<double>(latencies_ms.size() - 1))];
    };
    std::printf(
        "latency: %zu checks at %d/s: p50 %.2f ms, p99 %.2f ms, max %.2f ms (%d approved)\n",
        latencies_ms.size(), options_.rate, at(0.5), at(0.99), latencies_ms.back(),
        count_outcome(ids, messages::Outcome::kApproved));
  }

  Options options_;
  OpenSslRng rng_;
  std::string run_;
  std::string prefix_;
  messages::Topics topics_;
  kafka::KafkaSettings settings_;
  std::unique_ptr<kafka::KafkaProducer> producer_;
  std::unique_ptr<kafka::Consumer> reader_;
  std::optional<crypto::KeyRing> seal_keys_;
  std::optional<crypto::Sealer> sealer_;
  std::filesystem::path log_;
  std::vector<test::Subprocess> generators_;
  std::size_t next_partition_ = 0;
  int next_recipient_ = 0;
  /// Raw payloads by record key (see poll_once).
  std::unordered_map<std::string, std::pair<std::string, Clock::time_point>> replies_;
  std::unordered_map<std::string, std::string> jobs_;
};

}  // namespace
}  // namespace otp

int main(int argc, char** argv) {
  otp::Bench bench(otp::parse(argc, argv));
  bench.run();
  return 0;
}
