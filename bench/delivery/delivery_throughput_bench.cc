// Delivery throughput: otp-delivery (the real binary) against an in-process fake provider that
// answers like Twilio after a fixed latency (100 ms by default). N jobs are published first, then
// the worker starts; the figures are provider requests per second between the first and the last
// request, the time until every `delivery.sent` event is on otp.events, and the worker's peak RSS
// (VmHWM), and the CPU it used per delivery. With --runs N the whole measurement (fresh topics,
// fresh worker) is repeated N times and a last line gives the medians. Needs a broker:
// OTP_TEST_KAFKA_BROKERS. See docs/performance.md ("Delivery").
//
//   otp_delivery_throughput_bench [--jobs 50000] [--latency-ms 100] [--concurrency 1024]
//                                 [--runs 1] [--delivery-bin build/release/bin/otp-delivery]

#include "bench/delivery/fake_http_server.h"
#include "common/crypto/key_ring.h"
#include "common/crypto/sealer.h"
#include "common/kafka/admin.h"
#include "common/kafka/consumer.h"
#include "common/kafka/producer.h"
#include "common/messages/messages.h"
#include "common/messages/topics.h"
#include "common/random/rng.h"
#include "tests/support/subprocess.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace otp;
using SteadyClock = std::chrono::steady_clock;

constexpr char kSealKeys[] = "s1:AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=";

long status_kib(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0)
      return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
  }
  return -1;
}

/// CPU seconds (user + system) the process has used so far.
double cpu_seconds(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content;
  std::getline(stat, content);
  auto close = content.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(content.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double load_average() {
  std::ifstream loadavg("/proc/loadavg");
  double one = 0;
  loadavg >> one;
  return one;
}

double seconds(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }

struct Options {
  int jobs = 50000;
  int latency_ms = 100;
  int concurrency = 1024;
  int runs = 1;
  std::string delivery_bin = OTP_DELIVERY_BIN;
  std::string brokers;
};

struct RunResult {
  bool ok = false;
  double requests_per_s = 0;
  double end_to_end_per_s = 0;
  double peak_rss_mib = 0;
  double cpu_us_per_delivery = 0;
};

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto middle = values.size() / 2;
  return values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

/// One measurement: publish the jobs to fresh topics, start a worker, wait for every request and
/// every `delivery.sent`, print one JSON line.
RunResult run_once(const Options& options, int run) {
  const int jobs = options.jobs;
  const char* brokers = options.brokers.c_str();
  const double load_before = load_average();
  const std::string prefix =
      "bench-dlv-" + std::to_string(::getpid()) + "-" +
      std::to_string(std::chrono::system_clock::now().time_since_epoch().count()) + ".";
  auto topics = messages::Topics::with_prefix(prefix);
  kafka::KafkaSettings settings{.brokers = brokers, .client_id = "bench-dlv", .properties = {}};
  if (auto ensured = kafka::ensure_topics(settings, topics.specs(), 1, 30s); !ensured) {
    std::fprintf(stderr, "topics: %s\n", ensured.error().message.c_str());
    return {};
  }
  auto producer = kafka::KafkaProducer::create(settings);
  if (!producer) return {};
  OpenSslRng rng;
  auto keys = crypto::KeyRing::parse(kSealKeys);
  crypto::Sealer sealer(*keys, rng);
  std::vector<kafka::OutboundRecord> records;
  records.reserve(static_cast<std::size_t>(jobs));
  const auto now = std::chrono::system_clock::now();
  for (int i = 0; i < jobs; ++i) {
    const std::string vid = "otp_" + random_hex(rng, 16);
    char to[32];
    std::snprintf(to, sizeof to, "+1415%07d", i % 10000000);
    messages::DeliveryJob job{.job_id = vid + ":1",
                              .tenant = "bench",
                              .verification_id = vid,
                              .channel = messages::Channel::kSms,
                              .recipient = to,
                              .sealed_code = sealer.seal("482913", vid),
                              .code_length = 6,
                              .locale = "en",
                              .expires_at = now + 30min,
                              .deadline = now + 29min,
                              .attempt = 0};
    records.push_back({.topic = topics.delivery_sms,
                       .key = vid,
                       .value = messages::encode(job),
                       .headers = {},
                       .partition = std::nullopt});
  }
  if (auto sent = kafka::publish_and_wait(**producer, records, 120s); !sent) {
    std::fprintf(stderr, "publish: %s\n", sent.error().message.c_str());
    return {};
  }
  records.clear();
  records.shrink_to_fit();

  bench::FakeHttpServer fake(0, std::chrono::milliseconds(options.latency_ms));
  const std::string log = "/tmp/" + prefix + "otp-delivery.log";
  const auto started = SteadyClock::now();
  auto worker = test::Subprocess::start(
      {options.delivery_bin, "--channel", "sms"},
      {{"OTP_KAFKA_BROKERS", brokers},
       {"OTP_TOPIC_PREFIX", prefix},
       {"OTP_CONSUMER_GROUP", prefix + "sms"},
       {"OTP_SEAL_KEYS", kSealKeys},
       {"OTP_SMS_PROVIDER", "twilio"},
       {"OTP_TWILIO_BASE_URL", "http://127.0.0.1:" + std::to_string(fake.port())},
       {"OTP_TWILIO_ACCOUNT_SID", "AC00000000000000000000000000000000"},
       {"OTP_TWILIO_AUTH_TOKEN", "bench-token"},
       {"OTP_TWILIO_FROM", "+15005550006"},
       {"OTP_DELIVERY_CONCURRENCY", std::to_string(options.concurrency)},
       {"OTP_LOG_LEVEL", "warn"}},
      log);
  if (!worker) {
    std::fprintf(stderr, "start: %s\n", worker.error().message.c_str());
    return {};
  }
  long peak_rss = 0;
  while (fake.requests() < static_cast<std::uint64_t>(jobs) &&
         SteadyClock::now() - started < 600s && worker->running()) {
    peak_rss = std::max(peak_rss, status_kib(worker->pid(), "VmRSS"));
    std::this_thread::sleep_for(100ms);
  }

  // Every job must also have its delivery.sent event on Kafka.
  auto reader = kafka::Consumer::create(settings, prefix + "reader");
  if (!reader || !(*reader)->subscribe({topics.events})) return {};
  int sent_events = 0;
  while (sent_events < jobs && SteadyClock::now() - started < 900s) {
    auto polled = (*reader)->poll(200ms);
    if (polled && *polled && (**polled).value.find("\"delivery.sent\"") != std::string::npos) {
      ++sent_events;
    }
  }
  const auto all_events = SteadyClock::now();
  peak_rss = std::max(peak_rss, status_kib(worker->pid(), "VmRSS"));
  const long hwm = status_kib(worker->pid(), "VmHWM");
  const double cpu = cpu_seconds(worker->pid());
  worker->terminate();
  (*reader)->close();

  const double window = seconds(fake.last_request() - fake.first_request());
  RunResult result{
      .ok = sent_events == jobs,
      .requests_per_s = window > 0 ? static_cast<double>(fake.requests()) / window : 0.0,
      .end_to_end_per_s = sent_events / seconds(all_events - started),
      .peak_rss_mib = static_cast<double>(std::max(peak_rss, hwm)) / 1024.0,
      .cpu_us_per_delivery = sent_events > 0 ? cpu * 1e6 / sent_events : 0.0};
  std::printf(
      "{\"run\":%d,\"channel\":\"sms\",\"jobs\":%d,\"latency_ms\":%d,\"concurrency\":%d,"
      "\"provider_requests\":%llu,\"connections\":%llu,\"max_in_flight\":%llu,"
      "\"requests_per_s\":%.0f,\"sent_events\":%d,\"end_to_end_s\":%.2f,"
      "\"end_to_end_per_s\":%.0f,\"peak_rss_mib\":%.1f,\"vm_hwm_mib\":%.1f,"
      "\"worker_cpu_s\":%.2f,\"cpu_us_per_delivery\":%.1f,\"deliveries_per_cpu_s\":%.0f,"
      "\"load_avg_1m_before\":%.2f,\"load_avg_1m_after\":%.2f}\n",
      run, jobs, options.latency_ms, options.concurrency,
      static_cast<unsigned long long>(fake.requests()),
      static_cast<unsigned long long>(fake.connections()),
      static_cast<unsigned long long>(fake.max_in_flight()), result.requests_per_s, sent_events,
      seconds(all_events - started), result.end_to_end_per_s,
      static_cast<double>(peak_rss) / 1024.0, static_cast<double>(hwm) / 1024.0, cpu,
      result.cpu_us_per_delivery, cpu > 0 ? sent_events / cpu : 0.0, load_before, load_average());
  std::fflush(stdout);
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string name = argv[i];
    std::string value = argv[i + 1];
    if (name == "--jobs")
      options.jobs = std::stoi(value);
    else if (name == "--latency-ms")
      options.latency_ms = std::stoi(value);
    else if (name == "--concurrency")
      options.concurrency = std::stoi(value);
    else if (name == "--runs")
      options.runs = std::max(1, std::stoi(value));
    else if (name == "--delivery-bin")
      options.delivery_bin = value;
    else {
      std::fprintf(stderr, "unknown option %s\n", name.c_str());
      return 2;
    }
  }
  const char* brokers = std::getenv("OTP_TEST_KAFKA_BROKERS");
  if (brokers == nullptr) {
    std::fprintf(stderr, "set OTP_TEST_KAFKA_BROKERS\n");
    return 2;
  }
  options.brokers = brokers;
  const double load_before = load_average();
  std::vector<double> rates, end_to_end, rss, cpu;
  bool all_ok = true;
  for (int run = 1; run <= options.runs; ++run) {
    const auto result = run_once(options, run);
    all_ok = all_ok && result.ok;
    rates.push_back(result.requests_per_s);
    end_to_end.push_back(result.end_to_end_per_s);
    rss.push_back(result.peak_rss_mib);
    cpu.push_back(result.cpu_us_per_delivery);
  }
  if (options.runs > 1) {
    std::printf(
        "{\"median_of\":%d,\"jobs\":%d,\"latency_ms\":%d,\"concurrency\":%d,"
        "\"requests_per_s\":%.0f,\"end_to_end_per_s\":%.0f,\"peak_rss_mib\":%.1f,"
        "\"max_peak_rss_mib\":%.1f,\"cpu_us_per_delivery\":%.1f,\"load_avg_1m_before\":%.2f,"
        "\"load_avg_1m_after\":%.2f}\n",
        options.runs, options.jobs, options.latency_ms, options.concurrency, median(rates),
        median(end_to_end), median(rss), *std::max_element(rss.begin(), rss.end()), median(cpu),
        load_before, load_average());
  }
  return all_ok ? 0 : 1;
}
