// The management endpoints' pure parts: the strict query parser, page cursors (round trip,
// tampering, binding to endpoint and tenant), filter checks (400 naming the parameter) and the
// SQL builders (request values only ever as parameters).

#include "common/crypto/base64.h"
#include "services/intake/management/management_query.h"
#include "services/intake/management/page_cursor.h"
#include "services/intake/management/query_params.h"
#include "services/intake/management/query_pool.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <string>
#include <thread>
#include <vector>

namespace otp::intake::management {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

CursorCodec codec() { return CursorCodec(std::vector<std::uint8_t>(32, 7)); }

RecipientHasher fake_hasher() {
  return [](const std::string& tenant, const std::string& clear) {
    return std::optional<std::string>("hash(" + tenant + "," + clear + ")");
  };
}

TEST(QueryParams, DecodesPercentEscapesAndPlus) {
  auto params =
      QueryParams::parse("recipient=%2B1415%20555+2671&status=approved", {"recipient", "status"});
  ASSERT_TRUE(params.has_value()) << params.error().message;
  EXPECT_EQ(params->get("recipient"), "+1415 555 2671");
  EXPECT_EQ(params->get("status"), "approved");
  EXPECT_EQ(params->get("channel"), std::nullopt);
  EXPECT_TRUE(QueryParams::parse("", {"a"}).has_value());
}

TEST(QueryParams, RefusesMalformedQueriesNamingTheParameter) {
  struct Case {
    const char* query;
    const char* message;
  };
  for (const auto& c : std::vector<Case>{
           {"status=a&status=b", "'status' is given twice"},
           {"bogus=1", "unknown query parameter 'bogus'"},
           {"st%41tus=1", "unknown query parameter"},
           {"status", "'status' needs a value"},
           {"status=%zz", "'status' is not valid percent-encoded UTF-8"},
           {"status=%4", "'status' is not valid percent-encoded UTF-8"},
           {"status=%00", "'status' is not valid percent-encoded UTF-8"},
           {"status=%C3%28", "'status' is not valid percent-encoded UTF-8"},
           {"status=%ED%A0%80", "'status' is not valid percent-encoded UTF-8"},
           {"status=a&&channel=sms", "empty parameter"},
           {"status=a&", "empty parameter"},
       }) {
    auto params = QueryParams::parse(c.query, {"status", "channel"});
    ASSERT_FALSE(params.has_value()) << c.query;
    EXPECT_EQ(params.error().status, 400);
    EXPECT_EQ(params.error().code, "invalid_request");
    EXPECT_THAT(params.error().message, HasSubstr(c.message)) << c.query;
  }
  EXPECT_FALSE(QueryParams::parse(std::string(5000, 'a'), {"a"}).has_value());
}

TEST(PercentDecode, AcceptsMultiByteUtf8) {
  EXPECT_EQ(percent_decode("%C3%A9t%C3%A9"), "\xC3\xA9t\xC3\xA9");
  EXPECT_EQ(percent_decode("%F0%9F%98%80"), "\xF0\x9F\x98\x80");
  EXPECT_EQ(percent_decode("%C0%AF"), std::nullopt);  // overlong '/'
}

TEST(PageCursor, RoundTripsAndIsBoundToEndpointAndTenant) {
  auto cursors = codec();
  PageKey key{.at_us = 1'800'000'000'123'456, .id = "otp_0123456789abcdef0123456789abcdef"};
  auto cursor = cursors.encode("list", "acme", key);
  EXPECT_THAT(cursor, Not(HasSubstr("=")));
  auto decoded = cursors.decode("list", "acme", cursor);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  EXPECT_EQ(*decoded, key);
  EXPECT_FALSE(cursors.decode("list", "other", cursor).has_value());
  EXPECT_FALSE(cursors.decode("logs", "acme", cursor).has_value());
  EXPECT_FALSE(CursorCodec(std::vector<std::uint8_t>(32, 8)).decode("list", "acme", cursor));
}

TEST(PageCursor, RefusesEveryTamperedCursor) {
  auto cursors = codec();
  auto cursor = cursors.encode("logs", "acme", PageKey{.at_us = 42, .id = "event-1"});
  // Every single-character change is refused.
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (std::size_t i = 0; i < cursor.size(); ++i) {
    std::string changed = cursor;
    changed[i] = changed[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(cursors.decode("logs", "acme", changed).has_value()) << i;
  }
  EXPECT_FALSE(cursors.decode("logs", "acme", cursor.substr(0, cursor.size() - 1)));
  EXPECT_FALSE(cursors.decode("logs", "acme", cursor + "A"));
  EXPECT_FALSE(cursors.decode("logs", "acme", ""));
  EXPECT_FALSE(cursors.decode("logs", "acme", "not base64 !"));
  // A forged payload with a MAC of the right length but the wrong value.
  auto forged = crypto::base64url_encode("0|event-1|" + std::string(32, '0'));
  EXPECT_FALSE(cursors.decode("logs", "acme", forged));
}

TEST(Filters, ParsesEveryFilter) {
  auto cursors = codec();
  auto cursor = cursors.encode("logs", "acme", PageKey{.at_us = 5, .id = "e-9"});
  auto filters = parse_filters(
      Endpoint::kLogs, "acme",
      "status=approved&channel=sms&recipient=%2B14155552671&from=2027-01-01T00:00:00Z"
      "&to=2027-01-02T00:00:00Z&limit=200&verification_id=otp_0123456789abcdef0123456789abcdef"
      "&cursor=" +
          cursor,
      cursors, fake_hasher());
  ASSERT_TRUE(filters.has_value()) << filters.error().message;
  EXPECT_EQ(filters->status, "approved");
  EXPECT_EQ(filters->channel, "sms");
  EXPECT_EQ(filters->recipient_hash, "hash(acme,+14155552671)");
  EXPECT_EQ(filters->limit, 200U);
  ASSERT_TRUE(filters->after.has_value());
  EXPECT_EQ(filters->after->id, "e-9");
  auto defaults = parse_filters(Endpoint::kList, "acme", "", cursors, fake_hasher());
  ASSERT_TRUE(defaults.has_value());
  EXPECT_EQ(defaults->limit, 50U);
}

TEST(Filters, RefusesBadValuesNamingTheParameter) {
  auto cursors = codec();
  auto other_tenant_cursor = cursors.encode("list", "other", PageKey{.at_us = 5, .id = "v"});
  struct Case {
    Endpoint endpoint;
    std::string query;
    const char* parameter;
  };
  for (const auto& c : std::vector<Case>{
           {Endpoint::kList, "status=done", "'status'"},
           {Endpoint::kList, "channel=fax", "'channel'"},
           {Endpoint::kList, "limit=0", "'limit'"},
           {Endpoint::kList, "limit=201", "'limit'"},
           {Endpoint::kList, "limit=5x", "'limit'"},
           {Endpoint::kList, "limit=", "'limit'"},
           {Endpoint::kList, "limit=-1", "'limit'"},
           {Endpoint::kList, "from=yesterday", "'from'"},
           {Endpoint::kList, "to=2027-13-01T00:00:00Z", "'to'"},
           {Endpoint::kList, "from=2027-01-02T00:00:00Z&to=2027-01-01T00:00:00Z", "'from'"},
           {Endpoint::kList, "recipient=12345", "'recipient'"},
           {Endpoint::kList, "cursor=" + other_tenant_cursor, "'cursor'"},
           {Endpoint::kList, "verification_id=otp_1", "'verification_id'"},
           {Endpoint::kLogs, "verification_id=otp_1", "'verification_id'"},
           {Endpoint::kAttempts, "", "'verification_id' or 'recipient'"},
           {Endpoint::kReports, "status=approved", "'status'"},
           {Endpoint::kReports, "from=2026-01-01T00:00:00Z&to=2026-06-01T00:00:00Z", "'from'"},
           {Endpoint::kRateLimits, "limit=5", "'limit'"},
       }) {
    auto filters = parse_filters(c.endpoint, "acme", c.query, cursors, fake_hasher());
    ASSERT_FALSE(filters.has_value()) << c.query;
    EXPECT_EQ(filters.error().status, 400) << c.query;
    EXPECT_EQ(filters.error().code, "invalid_request");
    EXPECT_THAT(filters.error().message, HasSubstr(c.parameter)) << c.query;
  }
  // Without an HMAC key the recipient filter cannot work: refused, not ignored.
  auto no_key = parse_filters(Endpoint::kList, "acme", "recipient=%2B14155552671", cursors, {});
  ASSERT_FALSE(no_key.has_value());
  EXPECT_THAT(no_key.error().message, HasSubstr("'recipient'"));
}

TEST(Sql, EveryRequestValueIsAParameter) {
  Filters filters;
  filters.status = "approved'; DROP TABLE verifications; --";
  filters.channel = "sms";
  filters.recipient_hash = "hash-value";
  filters.verification_id = "otp_0123456789abcdef0123456789abcdef";
  filters.from = from_unix_ms(1'800'000'000'000);
  filters.to = from_unix_ms(1'800'000'100'000);
  filters.after = PageKey{.at_us = 123, .id = "evil' OR '1'='1"};
  for (auto endpoint : {Endpoint::kList, Endpoint::kLogs, Endpoint::kAttempts}) {
    auto query = page_query(endpoint, "tenant'x", filters);
    for (const char* value : {"DROP TABLE", "hash-value", "evil", "tenant'x", "otp_0123"}) {
      EXPECT_THAT(query.text, Not(HasSubstr(value))) << endpoint_name(endpoint);
    }
    EXPECT_EQ(query.params.front(), "tenant'x");
    EXPECT_THAT(query.text, HasSubstr("tenant = $1"));
    bool has_status = false;
    for (const auto& param : query.params) has_status |= param == *filters.status;
    EXPECT_TRUE(has_status);
    EXPECT_EQ(query.params.back(), std::to_string(filters.limit + 1));
  }
  auto reports = reports_query("tenant'x", filters);
  EXPECT_THAT(reports.text, Not(HasSubstr("tenant'x")));
  EXPECT_EQ(reports.params.front(), "tenant'x");
  auto limits = rate_limits_query("tenant'x");
  EXPECT_THAT(limits.text, Not(HasSubstr("tenant'x")));
  EXPECT_EQ(limits.params.size(), 1U);
}

TEST(QueryPool, RunsJobsOffTheCallerAndRefusesBeyondItsQueue) {
  // Nothing listens on port 1; no job here touches the connection, so none is opened.
  QueryPool pool(config::Secret("postgresql://otp@127.0.0.1:1/otp?connect_timeout=1"), 1,
                 std::chrono::milliseconds(500), /*queue_capacity=*/1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<std::thread::id> first_ran;
  std::promise<bool> second_ran;
  ASSERT_TRUE(pool.submit([&](pg::PgConnection* connection) {
    first_ran.set_value(std::this_thread::get_id());
    EXPECT_NE(connection, nullptr);
    released.wait();
  }));
  auto worker = first_ran.get_future().get();  // the worker holds the first job now
  EXPECT_NE(worker, std::this_thread::get_id());
  ASSERT_TRUE(pool.submit(
      [&](pg::PgConnection* connection) { second_ran.set_value(connection != nullptr); }));
  // One job runs, one waits: the queue (capacity 1) is full.
  EXPECT_FALSE(pool.submit([](pg::PgConnection*) { ADD_FAILURE() << "ran a refused job"; }));
  release.set_value();
  EXPECT_TRUE(second_ran.get_future().get());
}

}  // namespace
}  // namespace otp::intake::management
