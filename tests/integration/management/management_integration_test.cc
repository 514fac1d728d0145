// GET /otp/list, /otp/logs, /otp/attempts, /otp/reports and /otp/rate-limits of the real
// otp-intake (a subprocess) over HTTP, against a fresh database on the stack's PostgreSQL
// (OTP_TEST_PG_URL) filled through the audit writer (PgEventStore), and the stack's Kafka
// (OTP_TEST_KAFKA_BROKERS, which the intake needs to start). Pagination walks every row exactly
// once, filters, another tenant's rows never visible, 400s naming the parameter, 503 when the
// database is down.

#include "common/crypto/hmac.h"
#include "common/crypto/key_ring.h"
#include "common/kafka/admin.h"
#include "common/messages/messages.h"
#include "common/messages/topics.h"
#include "common/pg/pg_connection.h"
#include "common/random/rng.h"
#include "services/audit/pg_event_store.h"
#include "tests/integration/audit/test_database.h"
#include "tests/support/stack_env.h"
#include "tests/support/subprocess.h"

#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace otp::intake {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using ::testing::HasSubstr;

constexpr char kSealKeys[] = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
constexpr char kHmacKeys[] = "h1:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
constexpr char kApiKey[] = "mgmt-key";
constexpr char kApiSecret[] = "mgmt-secret-0123456789";
constexpr char kTenant[] = "acme";
constexpr char kOther[] = "other";
constexpr char kKnownNumber[] = "+14155550100";

struct HttpResult {
  long status = 0;  // NOLINT(google-runtime-int): libcurl's type
  std::string body;
  std::map<std::string, std::string> headers;
  [[nodiscard]] json body_json() const { return json::parse(body, nullptr, false); }
};

std::size_t append_body(char* data, std::size_t size, std::size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

std::size_t append_header(char* data, std::size_t size, std::size_t count, void* out) {
  std::string line(data, size * count);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    value.erase(value.find_last_not_of("\r\n ") + 1);
    (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
  }
  return size * count;
}

HttpResult get(const std::string& url, bool authenticated = true) {
  HttpResult result;
  CURL* curl = curl_easy_init();
  curl_slist* list = nullptr;
  if (authenticated) {
    list = curl_slist_append(list, (std::string("X-API-Key: ") + kApiKey).c_str());
    list = curl_slist_append(list, (std::string("X-API-Secret: ") + kApiSecret).c_str());
  }
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &append_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &append_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &result.headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 15000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return result;
}

std::string recipient_hash(const std::string& tenant, const std::string& recipient) {
  auto ring = crypto::KeyRing::parse(kHmacKeys);
  return crypto::recipient_hash(ring->active(), tenant, recipient);
}

class ManagementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto brokers = test::required_env("OTP_TEST_KAFKA_BROKERS");
    ASSERT_FALSE(brokers.empty());
    auto server = test::required_env("OTP_TEST_PG_URL");
    ASSERT_FALSE(server.empty());
    OpenSslRng rng;
    run_id_ = random_hex(rng, 6);
    prefix_ = "it-mgmt-" + run_id_ + ".";
    settings_ = kafka::KafkaSettings{.brokers = brokers, .client_id = "it-mgmt", .properties = {}};
    auto ensured =
        kafka::ensure_topics(settings_, messages::Topics::with_prefix(prefix_).specs(), 1, 30s);
    ASSERT_TRUE(ensured.has_value()) << ensured.error().message;
    auto database = test::TestDatabase::create(server, OTP_SCHEMA_SQL_DIR);
    ASSERT_TRUE(database.has_value()) << database.error().message;
    database_ = std::move(*database);
    connection_ =
        std::make_unique<pg::PgConnection>(config::Secret(database_->url()), pg::PgOptions{});
    log_path_ =
        (std::filesystem::path(OTP_TEST_LOG_DIR) /
         (std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + ".log"))
            .string();
    std::filesystem::remove(log_path_);
  }

  void TearDown() override {
    intake_.reset();
    connection_.reset();
    database_.reset();
  }

  void start_intake(const std::string& pg_url, bool wait_ready = true) {
    port_ = test::free_loopback_port();
    std::vector<std::pair<std::string, std::string>> env = {
        {"OTP_KAFKA_BROKERS", settings_.brokers},
        {"OTP_TOPIC_PREFIX", prefix_},
        {"OTP_SEAL_KEYS", kSealKeys},
        {"OTP_HMAC_KEYS", kHmacKeys},
        {"OTP_DEV_TENANT", kTenant},
        {"OTP_DEV_API_KEY", kApiKey},
        {"OTP_DEV_API_SECRET", kApiSecret},
        {"OTP_HTTP_HOST", "127.0.0.1"},
        {"OTP_HTTP_PORT", std::to_string(port_)},
        {"OTP_PG_URL", pg_url},
        {"OTP_MGMT_THREADS", "2"},
        {"OTP_LOG_LEVEL", "debug"}};
    auto process = test::Subprocess::start({OTP_INTAKE_BIN}, env, log_path_);
    ASSERT_TRUE(process.has_value()) << process.error().message;
    intake_ = std::make_unique<test::Subprocess>(std::move(*process));
    bool up = test::eventually(
        30s,
        [&] {
          return get(url(wait_ready ? "/readyz" : "/healthz"), false).status == 200 ||
                 !intake_->running();
        },
        50ms);
    ASSERT_TRUE(up && intake_->running()) << "otp-intake did not start; see " << log_path_;
  }

  [[nodiscard]] std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  /// `count` verifications of `tenant`, created a minute apart (the newest an hour ago); every
  /// third approved after one failed check, every fifth by email, every seventh sent to
  /// kKnownNumber. Returns their ids.
  std::vector<std::string> seed(const std::string& tenant, int count) {
    auto now =
        std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
    std::vector<messages::Event> events;
    std::vector<std::string> ids;
    OpenSslRng rng;
    for (int i = 0; i < count; ++i) {
      auto vid = new_verification_id(rng);
      ids.push_back(vid);
      auto created = now - 1h - std::chrono::minutes(i);
      auto event = [&](const std::string& type, TimePoint at, json data) {
        return messages::Event{.id = tenant + "-" + vid + "-" + type,
                               .type = type,
                               .source = "otp-test",
                               .time = at,
                               .tenant = tenant,
                               .verification_id = vid,
                               .data = std::move(data)};
      };
      bool email = i % 5 == 0;
      json data = {{"channel", email ? "email" : "sms"},
                   {"recipient_masked", email ? "a***@example.com" : "+1415*****00"},
                   {"country", email ? json(nullptr) : json("US")},
                   {"expires_at", format_rfc3339(created + 10min)},
                   {"max_attempts", 5}};
      if (i % 7 == 0) data["recipient_hash"] = recipient_hash(tenant, kKnownNumber);
      events.push_back(event("verification.created", created, data));
      events.push_back(event("delivery.sent", created + 1s,
                             {{"channel", email ? "email" : "sms"},
                              {"provider", email ? "smtp" : "twilio"},
                              {"latency_ms", 200},
                              {"segments", 1}}));
      if (i % 3 == 0) {
        events.push_back(
            event("verification.check_failed", created + 20s, {{"attempts_remaining", 4}}));
        events.push_back(
            event("verification.approved", created + 30s, {{"attempts_remaining", 3}}));
      }
    }
    audit::PgEventStore store(*connection_);
    auto written = store.write(events);
    EXPECT_TRUE(written.has_value()) << written.error().message;
    return ids;
  }

  /// Follows next_cursor from `first` to the end; every item of every page.
  std::vector<json> walk(const std::string& first, int* pages = nullptr) {
    std::vector<json> items;
    std::string next = first;
    for (int page = 0; page < 1000; ++page) {
      auto reply = get(url(next));
      EXPECT_EQ(reply.status, 200) << reply.body;
      auto body = reply.body_json();
      if (reply.status != 200 || !body.is_object()) break;
      EXPECT_EQ(body["success"], true);
      for (const auto& item : body["data"]) items.push_back(item);
      if (pages != nullptr) *pages = page + 1;
      if (body["next_cursor"].is_null()) break;
      auto path = first.substr(0, first.find('?'));
      auto query =
          first.find('?') == std::string::npos ? std::string() : first.substr(first.find('?') + 1);
      next = path + "?" + (query.empty() ? "" : query + "&") +
             "cursor=" + body["next_cursor"].get<std::string>();
    }
    return items;
  }

  std::string run_id_;
  std::string prefix_;
  kafka::KafkaSettings settings_;
  std::unique_ptr<test::TestDatabase> database_;
  std::unique_ptr<pg::PgConnection> connection_;
  std::unique_ptr<test::Subprocess> intake_;
  std::string log_path_;
  int port_ = 0;
};

TEST_F(ManagementTest, ListPagesWalkEveryRowOnceNewestFirstAndOnlyTheTenants) {
  auto mine = seed(kTenant, 53);
  auto theirs = seed(kOther, 20);
  start_intake(database_->url());

  int pages = 0;
  auto items = walk("/otp/list?limit=7", &pages);
  EXPECT_EQ(pages, 8);
  std::vector<std::string> seen;
  for (const auto& item : items) seen.push_back(item["verification_id"].get<std::string>());
  EXPECT_EQ(seen, mine);  // seeded newest first, a minute apart
  for (const auto& item : items) {
    EXPECT_FALSE(item.contains("recipient_hash"));
    EXPECT_FALSE(item.contains("code"));
  }
  // The other tenant's verification is not found by id either.
  auto other = get(url("/otp/logs?verification_id=" + theirs[0])).body_json();
  EXPECT_EQ(other["data"], json::array());
  EXPECT_EQ(walk("/otp/list?limit=200").size(), mine.size());
}

TEST_F(ManagementTest, ListFiltersByStatusChannelRecipientAndTime) {
  auto mine = seed(kTenant, 30);
  seed(kOther, 30);
  start_intake(database_->url());

  auto approved = walk("/otp/list?status=approved&limit=3");
  EXPECT_EQ(approved.size(), 10U);  // i % 3 == 0 of 30
  for (const auto& item : approved) EXPECT_EQ(item["status"], "approved");
  auto email = walk("/otp/list?channel=email");
  EXPECT_EQ(email.size(), 6U);
  auto known = walk("/otp/list?recipient=%2B1%20415%20555%200100");
  ASSERT_EQ(known.size(), 5U);  // i = 0, 7, 14, 21, 28
  EXPECT_EQ(known[1]["verification_id"], mine[7]);
  // from/to bound created_at: the 10 newest (created 60..69 minutes ago).
  auto now = std::chrono::system_clock::now();
  auto from = format_rfc3339(now - 69min - 30s);
  auto to = format_rfc3339(now);
  auto recent = walk("/otp/list?from=" + from + "&to=" + to);
  EXPECT_EQ(recent.size(), 10U);
}

TEST_F(ManagementTest, LogsAndAttemptsPageThroughTheTenantsEvents) {
  auto mine = seed(kTenant, 12);  // 12 created + 12 sent + 4 x (failed check + approved)
  seed(kOther, 12);
  start_intake(database_->url());

  auto logs = walk("/otp/logs?limit=5");
  EXPECT_EQ(logs.size(), 32U);
  std::set<std::string> ids;
  for (const auto& event : logs) ids.insert(event["id"].get<std::string>());
  EXPECT_EQ(ids.size(), logs.size());
  for (const auto& event : logs) {
    EXPECT_THAT(event["id"].get<std::string>(), ::testing::StartsWith("acme-"));
    EXPECT_FALSE(event["data"].contains("recipient_hash"));
  }
  auto one = walk("/otp/logs?verification_id=" + mine[3]);
  EXPECT_EQ(one.size(), 4U);
  auto attempts = walk("/otp/attempts?verification_id=" + mine[3]);
  ASSERT_EQ(attempts.size(), 2U);
  EXPECT_EQ(attempts[0]["type"], "verification.approved");
  EXPECT_EQ(attempts[1]["type"], "verification.check_failed");
  EXPECT_EQ(walk("/otp/attempts?verification_id=" + mine[1]).size(), 0U);
}

TEST_F(ManagementTest, ReportsAndRateLimitsAreTheTenants) {
  seed(kTenant, 12);
  seed(kOther, 5);
  ASSERT_TRUE(
      connection_->exec("INSERT INTO sms_prices (country, price_per_segment) VALUES ('US', 0.0075)")
          .has_value());
  start_intake(database_->url());

  auto now = std::chrono::system_clock::now();
  auto reply =
      get(url("/otp/reports?from=" + format_rfc3339(now - 48h) + "&to=" + format_rfc3339(now)));
  ASSERT_EQ(reply.status, 200) << reply.body;
  auto days = reply.body_json()["data"];
  long long verifications = 0, approved = 0, sms = 0;
  for (const auto& day : days) {
    verifications += day["verifications"].get<long long>();
    approved += day["approved"].get<long long>();
    sms += day["sms_messages"].get<long long>();
  }
  EXPECT_EQ(verifications, 12);
  EXPECT_EQ(approved, 4);
  EXPECT_EQ(sms, 12 - 3);  // i = 0, 5, 10 by email

  auto limits = get(url("/otp/rate-limits")).body_json();
  EXPECT_EQ(limits["success"], true);
  EXPECT_EQ(limits["data"]["configured"], false);  // acme has no tenants row yet
  auto inserted =
      connection_->exec("INSERT INTO tenants (id, name, send_burst) VALUES ('acme', 'A', 7)");
  ASSERT_TRUE(inserted.has_value()) << inserted.error().message;
  limits = get(url("/otp/rate-limits")).body_json();
  EXPECT_EQ(limits["data"]["configured"], true);
  EXPECT_EQ(limits["data"]["limits"]["send_burst"], 7);
  // Seeded sends are an hour old or more: none inside the 600 s window.
  EXPECT_EQ(limits["data"]["usage"]["sends_in_window"], 0);
}

TEST_F(ManagementTest, BadParametersAre400NamingTheParameter) {
  seed(kTenant, 3);
  start_intake(database_->url());
  auto first = get(url("/otp/list?limit=1")).body_json();
  auto cursor = first["next_cursor"].get<std::string>();
  std::string tampered = cursor;
  tampered[5] = tampered[5] == 'A' ? 'B' : 'A';
  for (const auto& [path, parameter] : std::vector<std::pair<std::string, std::string>>{
           {"/otp/list?limit=0", "'limit'"},
           {"/otp/list?status=weird", "'status'"},
           {"/otp/list?cursor=" + tampered, "'cursor'"},
           {"/otp/logs?cursor=" + cursor, "'cursor'"},  // a list cursor on logs
           {"/otp/list?from=not-a-time", "'from'"},
           {"/otp/list?nope=1", "'nope'"},
           {"/otp/attempts", "'verification_id' or 'recipient'"},
       }) {
    auto reply = get(url(path));
    EXPECT_EQ(reply.status, 400) << path;
    auto body = reply.body_json();
    EXPECT_EQ(body["success"], false) << path;
    EXPECT_EQ(body["error"]["code"], "invalid_request") << path;
    EXPECT_THAT(body["error"]["message"].get<std::string>(), HasSubstr(parameter)) << path;
  }
  EXPECT_EQ(get(url("/otp/list"), false).status, 401);
}

TEST_F(ManagementTest, DatabaseDownIs503WithRetryAfter) {
  // Nothing listens on the port: every query fails to connect.
  start_intake("postgresql://otp@127.0.0.1:" + std::to_string(test::free_loopback_port()) +
                   "/otp?connect_timeout=1",
               false);
  auto reply = get(url("/otp/list"));
  EXPECT_EQ(reply.status, 503) << reply.body;
  EXPECT_EQ(reply.body_json()["error"]["code"], "unavailable");
  EXPECT_FALSE(reply.headers["retry-after"].empty());
}

}  // namespace
}  // namespace otp::intake
