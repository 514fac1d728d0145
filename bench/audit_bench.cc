// Sustained audit ingest: events/s into PostgreSQL through PgEventStore (partitioned otp_events,
// otp_event_ids, the verifications projection maintained), in batches of 1,000 events as the
// audit worker writes them. Not a Google Benchmark: one run is seconds of database work, so it
// runs a few and prints their median.
//
//   OTP_TEST_PG_URL=postgresql://otp@127.0.0.1:<base+32>/otp otp_audit_bench [batches] [runs]
//       [batch size] [--writers N]
//
// Each run writes `batches` (default 50) batches of `batch size` (default 1,000, otp-audit's
// OTP_AUDIT_BATCH_SIZE default) new events per writer into a throw-away database (created with
// schemas/sql applied, dropped at the end). The events are a realistic lifecycle mix: per
// verification, created, delivery.sent, one failed check and approved.
//
// `--writers N` (default 1) runs N writers at once, each a thread with its own connection and
// PgEventStore and its own verifications, like N otp-audit processes each owning some
// partitions of the events topic (records are keyed by verification id, so partitions never
// share a verification). The rate is every writer's events over the time from the common start
// until the last writer finished.
//
// The machine is shared, so wall-clock rates move with its load. Each run therefore also prints
// the CPU time it cost per 1,000 events: this process's (building and sending batches) and the
// PostgreSQL backends' of the writers' connections (from /proc/<pid>/stat, so only when the
// server runs on this machine; WAL writer, checkpointer and autovacuum are not counted), and
// what that makes per CPU-second. That figure barely depends on the load.

#include "common/pg/pg_connection.h"
#include "common/random/rng.h"
#include "services/audit/pg_event_store.h"
#include "tests/integration/audit/test_database.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using nlohmann::json;
std::size_t batch_size = 1000;

/// CPU seconds (user + system) a process used so far, or a negative value when /proc does not
/// show it (another machine's PostgreSQL).
double process_cpu_seconds(const std::string& pid) {
  std::ifstream stat("/proc/" + pid + "/stat");
  // One line; getline rather than istreambuf_iterator, which g++ 12 -O2 flags with a false
  // -Wnull-dereference inside libstdc++.
  std::string text;
  std::getline(stat, text);
  auto name_end = text.rfind(')');  // the command name may hold spaces
  if (name_end == std::string::npos) return -1;
  std::istringstream fields(text.substr(name_end + 2));
  std::string field;
  double ticks = 0;
  // After the name: state is field 3; utime and stime are fields 14 and 15.
  for (int index = 3; index <= 15 && fields >> field; ++index) {
    if (index >= 14) ticks += std::strtod(field.c_str(), nullptr);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double own_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::vector<otp::messages::Event> make_batch(std::size_t first_verification, otp::TimePoint start) {
  std::vector<otp::messages::Event> batch;
  batch.reserve(batch_size);
  for (std::size_t i = first_verification; batch.size() < batch_size; ++i) {
    auto vid = "otp_bench_" + std::to_string(i);
    auto at = start + std::chrono::milliseconds(i % 1'000'000);
    auto event = [&](const char* suffix, const char* type, std::chrono::milliseconds offset,
                     json data) {
      return otp::messages::Event{.id = vid + suffix,
                                  .type = type,
                                  .source = "otp-bench",
                                  .time = at + offset,
                                  .tenant = i % 3 == 0 ? "bench-a" : "bench-b",
                                  .verification_id = vid,
                                  .data = std::move(data)};
    };
    batch.push_back(event("-c", "verification.created", std::chrono::milliseconds(0),
                          {{"channel", "sms"},
                           {"recipient_masked", "+1415*****71"},
                           {"country", "US"},
                           {"number_prefix", "+1415"},
                           {"recipient_hash", "h" + std::to_string(i)},
                           {"max_attempts", 5},
                           {"code_length", 6}}));
    batch.push_back(event("-s", "delivery.sent", std::chrono::milliseconds(900),
                          {{"channel", "sms"},
                           {"provider", "twilio"},
                           {"latency_ms", 100 + i % 700},
                           {"segments", 1},
                           {"attempt", 1}}));
    batch.push_back(event("-f", "verification.check_failed", std::chrono::milliseconds(20'000),
                          {{"attempts_remaining", 4}}));
    batch.push_back(
        event("-a", "verification.approved", std::chrono::milliseconds(30'000), json::object()));
  }
  return batch;
}

}  // namespace

int main(int argc, char** argv) {
  auto server = otp::test::test_pg_url();
  if (server.empty()) {
    std::fprintf(stderr, "%s\n", otp::test::kMissingPgUrl);
    return 2;
  }
  std::vector<const char*> positional;
  std::size_t writers = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--writers") == 0 && i + 1 < argc) {
      writers = std::strtoull(argv[++i], nullptr, 10);
    } else {
      positional.push_back(argv[i]);
    }
  }
  auto arg = [&](std::size_t index, std::size_t fallback) {
    return positional.size() > index ? std::strtoull(positional[index], nullptr, 10) : fallback;
  };
  std::size_t batches = arg(0, 50);
  std::size_t runs = arg(1, 5);
  batch_size = arg(2, 1000);
  if (batches == 0 || runs == 0 || batch_size < 4 || batch_size % 4 != 0 || writers == 0 ||
      writers > 64 || positional.size() > 3) {
    std::fputs(
        "usage: otp_audit_bench [batches > 0] [runs > 0] [batch size, a multiple of 4]"
        " [--writers 1..64]\n",
        stderr);
    return 2;
  }
  auto database = otp::test::TestDatabase::create(server, OTP_SCHEMA_SQL_DIR);
  if (!database) {
    std::fprintf(stderr, "cannot create a database: %s\n", database.error().message.c_str());
    return 1;
  }
  std::vector<std::unique_ptr<otp::pg::PgConnection>> connections;
  std::vector<std::unique_ptr<otp::audit::PgEventStore>> stores;
  for (std::size_t w = 0; w < writers; ++w) {
    connections.push_back(std::make_unique<otp::pg::PgConnection>(
        otp::config::Secret((*database)->url()),
        otp::pg::PgOptions{.application_name = "otp-audit-bench"}));
    if (auto connected = connections.back()->connect(); !connected) {
      std::fprintf(stderr, "cannot connect: %s\n", connected.error().message.c_str());
      return 1;
    }
    stores.push_back(std::make_unique<otp::audit::PgEventStore>(*connections.back()));
  }
  std::vector<std::string> backends;
  for (auto& connection : connections) {
    auto pid = connection->exec("SELECT pg_backend_pid()");
    if (pid && pid->size() == 1 && pid->front()[0]) backends.push_back(*pid->front()[0]);
  }
  auto server_cpu = [&] {
    double total = 0;
    for (const auto& pid : backends) {
      double used = process_cpu_seconds(pid);
      if (used < 0) return -1.0;
      total += used;
    }
    return total;
  };

  // Inside the current month, so the partitions exist as in steady state.
  auto start = std::chrono::system_clock::now() - std::chrono::hours(1);
  std::size_t next_verification = 0;
  std::vector<double> rates;
  std::vector<double> per_cpu_second;
  for (std::size_t run = 0; run < runs; ++run) {
    // Every writer's batches are made before the clock starts; each writer has its own
    // verifications, as the partitions of the events topic do.
    std::vector<std::vector<std::vector<otp::messages::Event>>> prepared(writers);
    for (auto& batches_of_writer : prepared) {
      for (std::size_t b = 0; b < batches; ++b) {
        batches_of_writer.push_back(make_batch(next_verification, start));
        next_verification += batch_size / 4;
      }
    }
    std::atomic<bool> failed{false};
    std::atomic<std::size_t> ready{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (std::size_t w = 0; w < writers; ++w) {
      threads.emplace_back([&, w] {
        ready.fetch_add(1);
        while (!go.load()) std::this_thread::yield();
        for (const auto& batch : prepared[w]) {
          auto written = stores[w]->write(batch);
          if (!written || written->inserted != batch.size()) {
            std::fprintf(stderr, "writer %zu: write failed: %s\n", w + 1,
                         written ? "not every event was new" : written.error().message.c_str());
            failed.store(true);
            return;
          }
        }
      });
    }
    while (ready.load() < writers) std::this_thread::yield();
    double client_before = own_cpu_seconds();
    double server_before = server_cpu();
    auto began = std::chrono::steady_clock::now();
    go.store(true);
    for (auto& thread : threads) thread.join();
    std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - began;
    double client_used = own_cpu_seconds() - client_before;
    double server_after = server_cpu();
    if (failed.load()) return 1;
    auto events = writers * batches * batch_size;
    double rate = static_cast<double>(events) / elapsed.count();
    rates.push_back(rate);
    std::printf("run %zu: %zu events in %.3f s = %.0f events/s", run + 1, events, elapsed.count(),
                rate);
    double thousands = static_cast<double>(events) / 1000.0;
    if (server_before >= 0 && server_after >= 0) {
      double server_used = server_after - server_before;
      per_cpu_second.push_back(static_cast<double>(events) / (client_used + server_used));
      std::printf("; CPU per 1,000 events: client %.1f ms + server %.1f ms = %.0f events/CPU-s",
                  client_used * 1000 / thousands, server_used * 1000 / thousands,
                  per_cpu_second.back());
    }
    std::printf("\n");
  }
  std::sort(rates.begin(), rates.end());
  std::sort(per_cpu_second.begin(), per_cpu_second.end());
  std::printf(
      "median: %.0f events/s over %zu runs (batches of %zu, %zu writer%s, projection "
      "maintained)\n",
      rates[rates.size() / 2], runs, batch_size, writers, writers == 1 ? "" : "s");
  if (!per_cpu_second.empty()) {
    std::printf("median CPU cost: %.0f events per CPU-second (client + server backends)\n",
                per_cpu_second[per_cpu_second.size() / 2]);
  }
  return 0;
}
