// Sustained audit ingest: events/s into PostgreSQL through PgEventStore (partitioned otp_events,
// otp_event_ids, the verifications projection maintained), in batches of 1,000 events as the
// audit worker writes them. Not a Google Benchmark: one run is seconds of database work, so it
// runs a few and prints their median.
//
//   OTP_TEST_PG_URL=postgresql://otp@127.0.0.1:<base+32>/otp otp_audit_bench [batches] [runs]
//       [batch size]
//
// Each run writes `batches` (default 50) batches of `batch size` (default 1,000, otp-audit's
// OTP_AUDIT_BATCH_SIZE default) new events into a throw-away database
// (created with schemas/sql applied, dropped at the end). The events are a realistic lifecycle
// mix: per verification, created, delivery.sent, one failed check and approved.

#include "common/pg/pg_connection.h"
#include "common/random/rng.h"
#include "services/audit/pg_event_store.h"
#include "tests/integration/audit/test_database.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using nlohmann::json;
std::size_t batch_size = 1000;

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
  std::size_t batches = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 50;
  std::size_t runs = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 5;
  batch_size = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1000;
  if (batches == 0 || runs == 0 || batch_size < 4 || batch_size % 4 != 0) {
    std::fputs("usage: otp_audit_bench [batches > 0] [runs > 0] [batch size, a multiple of 4]\n",
               stderr);
    return 2;
  }
  auto database = otp::test::TestDatabase::create(server, OTP_SCHEMA_SQL_DIR);
  if (!database) {
    std::fprintf(stderr, "cannot create a database: %s\n", database.error().message.c_str());
    return 1;
  }
  otp::pg::PgConnection connection(otp::config::Secret((*database)->url()),
                                   {.application_name = "otp-audit-bench"});
  otp::audit::PgEventStore store(connection);

  // Inside the current month, so the partitions exist as in steady state.
  auto start = std::chrono::system_clock::now() - std::chrono::hours(1);
  std::size_t next_verification = 0;
  std::vector<double> rates;
  for (std::size_t run = 0; run < runs; ++run) {
    std::vector<std::vector<otp::messages::Event>> prepared;
    for (std::size_t b = 0; b < batches; ++b) {
      prepared.push_back(make_batch(next_verification, start));
      next_verification += batch_size / 4;
    }
    auto began = std::chrono::steady_clock::now();
    for (const auto& batch : prepared) {
      auto written = store.write(batch);
      if (!written || written->inserted != batch.size()) {
        std::fprintf(stderr, "write failed: %s\n",
                     written ? "not every event was new" : written.error().message.c_str());
        return 1;
      }
    }
    std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - began;
    double rate = static_cast<double>(batches * batch_size) / elapsed.count();
    rates.push_back(rate);
    std::printf("run %zu: %zu events in %.3f s = %.0f events/s\n", run + 1, batches * batch_size,
                elapsed.count(), rate);
  }
  std::sort(rates.begin(), rates.end());
  std::printf("median: %.0f events/s over %zu runs (batches of %zu, projection maintained)\n",
              rates[rates.size() / 2], runs, batch_size);
  return 0;
}
