#include "services/audit/pg_event_store.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>

namespace otp::audit {
namespace {

using nlohmann::json;

// The whole batch travels as one jsonb parameter to otp_audit_write_batch
// (schemas/sql/0010_audit_ingest.sql, 0012_audit_fast_ingest.sql), which creates the partitions the
// batch needs, claims the ids in otp_event_ids, inserts only the claimed events and folds them into
// `verifications`. It is a PL/pgSQL function so that its one big statement is planned once per
// connection, not once per batch: one round trip and no planning per batch.
constexpr char kWriteBatch[] =
    "SELECT inserted_events, projected_rows FROM otp_audit_write_batch($1::jsonb, "
    "$2::timestamptz[])";

constexpr char kCheckSchema[] =
    "SELECT has_table_privilege('otp_events', 'INSERT')"
    " AND has_table_privilege('otp_event_ids', 'INSERT')"
    " AND has_table_privilege('verifications', 'INSERT, UPDATE')"
    " AND to_regprocedure('otp_audit_write_batch(jsonb, timestamptz[])') IS NOT NULL";

/// A string field of `data`, or null when it is absent or not a string.
const std::string* text_field(const json& data, const char* name) {
  auto it = data.find(name);
  if (it == data.end() || !it->is_string()) return nullptr;
  return &it->get_ref<const std::string&>();
}

std::optional<std::int64_t> integer_field(const json& data, const char* name, std::int64_t max) {
  auto it = data.find(name);
  if (it == data.end() || !it->is_number()) return std::nullopt;
  double value = it->get<double>();
  if (!std::isfinite(value) || value < 0 || value > static_cast<double>(max)) return std::nullopt;
  return std::llround(value);
}

/// Writes one JSON object straight into the batch text. Building an nlohmann tree per row and
/// dumping it cost more client CPU than the rest of the write (the profile of otp_audit_bench).
class RowWriter {
 public:
  explicit RowWriter(std::string& out) : out_(out) { out_ += '{'; }
  void finish() { out_ += '}'; }

  void text(const char* name, std::string_view value) {
    key(name);
    // Ids and types (the id rule of common/messages) are plain printable ASCII and go as they
    // are; anything else is escaped by nlohmann, which also replaces invalid UTF-8 (PostgreSQL
    // would refuse it, and a refused batch stays refused).
    bool plain = std::all_of(value.begin(), value.end(),
                             [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
    if (plain) {
      out_ += '"';
      out_ += value;
      out_ += '"';
    } else {
      out_ += json(value).dump(-1, ' ', false, json::error_handler_t::replace);
    }
  }
  void text(const char* name, const std::string* value) {
    if (value != nullptr) text(name, *value);
  }
  void integer(const char* name, std::int64_t value) {
    key(name);
    out_ += std::to_string(value);
  }
  void integer(const char* name, std::optional<std::int64_t> value) {
    if (value) integer(name, *value);
  }
  void object(const char* name, const json& value) {
    key(name);
    // Decoded events hold valid UTF-8 only, so dump cannot throw; `replace` keeps it that way.
    out_ += value.dump(-1, ' ', false, json::error_handler_t::replace);
  }

 private:
  void key(const char* name) {
    if (!first_) out_ += ',';
    first_ = false;
    out_ += '"';
    out_ += name;
    out_ += "\":";
  }

  std::string& out_;
  bool first_ = true;
};

/// Appends one batch row: the event as stored, plus the projection facts read from its data.
/// Facts are typed and range-checked here so that no cast in SQL can fail on what a producer
/// sent (a failing statement would block the batch for good).
void append_batch_row(std::string& out, const messages::Event& event, std::size_t ord) {
  // A provider's delivery receipt received by the intake's webhooks names neither tenant nor
  // verification; the intake marks it with these placeholders (the event format requires both,
  // see services/intake/webhooks/status_event.h). The batch writer knows such a receipt by an
  // empty tenant and verification id and finds its verification by provider message id.
  const bool unresolved_receipt = event.type == "delivery.status" &&
                                  event.tenant == kWebhookReceiptTenant &&
                                  event.verification_id == kWebhookReceiptVerificationId;
  RowWriter row(out);
  row.integer("ord", static_cast<std::int64_t>(ord));
  row.text("id", event.id);
  row.text("type", event.type);
  row.text("source", event.source);
  row.text("occurred_at", format_rfc3339(event.time));
  row.text("tenant", unresolved_receipt ? std::string_view() : std::string_view(event.tenant));
  row.text("verification_id",
           unresolved_receipt ? std::string_view() : std::string_view(event.verification_id));
  row.object("data", event.data);
  const json& data = event.data;
  row.text("channel", text_field(data, "channel"));
  row.text("recipient_masked", text_field(data, "recipient_masked"));
  row.text("country", text_field(data, "country"));
  row.text("number_prefix", text_field(data, "number_prefix"));
  row.text("recipient_hash", text_field(data, "recipient_hash"));
  row.text("provider", text_field(data, "provider"));
  row.text("provider_message_id", text_field(data, "provider_message_id"));
  row.text("error_code", text_field(data, "error_code"));
  row.text("policy", text_field(data, "policy"));
  if (event.type == "delivery.status") row.text("receipt", text_field(data, "status"));
  if (const auto* expires = text_field(data, "expires_at")) {
    constexpr std::int64_t kLatestStorableMs = 253'402'300'799'999;  // 9999-12-31T23:59:59.999Z
    auto parsed = parse_rfc3339(*expires);
    if (parsed && to_unix_ms(*parsed) >= 0 && to_unix_ms(*parsed) <= kLatestStorableMs) {
      row.text("expires_at", format_rfc3339(*parsed));
    }
  }
  row.integer("max_attempts",
              integer_field(data, "max_attempts", std::numeric_limits<std::int32_t>::max()));
  constexpr std::int64_t kMaxLatencyMs = 1'000'000'000'000;  // ~31 years: nonsense beyond
  row.integer("latency_ms", integer_field(data, "latency_ms", kMaxLatencyMs));
  constexpr std::int64_t kMaxSegments = 1000;  // a concatenated SMS has at most 255 parts
  row.integer("segments", integer_field(data, "segments", kMaxSegments));
  row.finish();
}

/// The first instants (UTC) of the months the events fall in, as a PostgreSQL array literal.
std::string months_of(std::span<const messages::Event> events) {
  std::set<std::string> months;
  for (const auto& event : events) months.insert(format_rfc3339(event.time).substr(0, 7));
  std::string literal = "{";
  for (const auto& month : months) {
    if (literal.size() > 1) literal += ',';
    literal += month + "-01T00:00:00Z";
  }
  return literal + "}";
}

std::size_t count_of(const std::optional<std::string>& text) {
  return text ? static_cast<std::size_t>(std::stoull(*text)) : 0;
}

}  // namespace

Result<WriteSummary> PgEventStore::write(std::span<const messages::Event> events) {
  if (events.empty()) return WriteSummary{};
  // An id repeated within the batch counts once, its first occurrence (as a replay would).
  std::string rows;
  rows.reserve(events.size() * 512);
  rows += '[';
  std::unordered_set<std::string_view> seen;
  seen.reserve(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (!seen.insert(events[i].id).second) continue;
    if (rows.size() > 1) rows += ',';
    append_batch_row(rows, events[i], i);
  }
  rows += ']';
  std::vector<pg::Param> params{std::move(rows), months_of(events)};

  WriteSummary summary;
  auto done = connection_.transact([&](pg::Transaction& tx) -> Result<void> {
    auto result = tx.exec(kWriteBatch, params);
    if (!result) return tl::unexpected(result.error());
    if (result->size() != 1 || result->front().size() != 2) {
      return fail(Errc::kInternal, "audit write: unexpected result shape");
    }
    summary.inserted = count_of(result->front()[0]);
    summary.verifications = count_of(result->front()[1]);
    return {};
  });
  if (!done) return tl::unexpected(done.error());
  return summary;
}

Result<void> PgEventStore::check_schema() {
  auto rows = connection_.exec(kCheckSchema);
  if (!rows) return tl::unexpected(rows.error());
  if (rows->size() != 1 || rows->front().empty() || rows->front()[0] != "t") {
    return fail(Errc::kPermanent,
                "audit schema: no INSERT/UPDATE privilege on otp_events, otp_event_ids and "
                "verifications, or no otp_audit_write_batch (migrations 0001-0010 applied?)");
  }
  return {};
}

}  // namespace otp::audit
