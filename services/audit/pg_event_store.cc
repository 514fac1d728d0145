#include "services/audit/pg_event_store.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>

namespace otp::audit {
namespace {

using nlohmann::json;

// The whole batch travels as one jsonb parameter to otp_audit_write_batch
// (schemas/sql/0010_audit_ingest.sql), which creates the partitions the batch needs, claims the
// ids in otp_event_ids, inserts only the claimed events and folds them into `verifications`. It
// is a PL/pgSQL function so that its one big statement is planned once per connection, not once
// per batch: one round trip and no planning per batch.
constexpr char kWriteBatch[] =
    "SELECT inserted_events, projected_rows FROM otp_audit_write_batch($1::jsonb, "
    "$2::timestamptz[])";

constexpr char kCheckSchema[] =
    "SELECT has_table_privilege('otp_events', 'INSERT')"
    " AND has_table_privilege('otp_event_ids', 'INSERT')"
    " AND has_table_privilege('verifications', 'INSERT, UPDATE')"
    " AND to_regprocedure('otp_audit_write_batch(jsonb, timestamptz[])') IS NOT NULL";

std::optional<std::string> text_field(const json& data, const char* name) {
  auto it = data.find(name);
  if (it == data.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::optional<std::int64_t> integer_field(const json& data, const char* name, std::int64_t max) {
  auto it = data.find(name);
  if (it == data.end() || !it->is_number()) return std::nullopt;
  double value = it->get<double>();
  if (!std::isfinite(value) || value < 0 || value > static_cast<double>(max)) return std::nullopt;
  return std::llround(value);
}

/// One batch row: the event as stored, plus the projection facts read from its data. Facts are
/// typed and range-checked here so that no cast in SQL can fail on what a producer sent (a
/// failing statement would block the batch for good).
json batch_row(const messages::Event& event, std::size_t ord) {
  // A provider's delivery receipt received by the intake's webhooks names neither tenant nor
  // verification; the intake marks it with these placeholders (the event format requires both,
  // see services/intake/webhooks/status_event.h). The batch writer knows such a receipt by an
  // empty tenant and verification id and finds its verification by provider message id.
  const bool unresolved_receipt = event.type == "delivery.status" &&
                                  event.tenant == kWebhookReceiptTenant &&
                                  event.verification_id == kWebhookReceiptVerificationId;
  json row = {{"ord", ord},
              {"id", event.id},
              {"type", event.type},
              {"source", event.source},
              {"occurred_at", format_rfc3339(event.time)},
              {"tenant", unresolved_receipt ? std::string() : event.tenant},
              {"verification_id", unresolved_receipt ? std::string() : event.verification_id},
              {"data", event.data}};
  const json& data = event.data;
  if (auto channel = text_field(data, "channel")) row["channel"] = *channel;
  if (auto masked = text_field(data, "recipient_masked")) row["recipient_masked"] = *masked;
  if (auto country = text_field(data, "country")) row["country"] = *country;
  if (auto prefix = text_field(data, "number_prefix")) row["number_prefix"] = *prefix;
  if (auto hash = text_field(data, "recipient_hash")) row["recipient_hash"] = *hash;
  if (auto provider = text_field(data, "provider")) row["provider"] = *provider;
  if (auto message_id = text_field(data, "provider_message_id")) {
    row["provider_message_id"] = *message_id;
  }
  if (auto error_code = text_field(data, "error_code")) row["error_code"] = *error_code;
  if (auto policy = text_field(data, "policy")) row["policy"] = *policy;
  if (event.type == "delivery.status") {
    if (auto receipt = text_field(data, "status")) row["receipt"] = *receipt;
  }
  if (auto expires = text_field(data, "expires_at")) {
    constexpr std::int64_t kLatestStorableMs = 253'402'300'799'999;  // 9999-12-31T23:59:59.999Z
    auto parsed = parse_rfc3339(*expires);
    if (parsed && to_unix_ms(*parsed) >= 0 && to_unix_ms(*parsed) <= kLatestStorableMs) {
      row["expires_at"] = format_rfc3339(*parsed);
    }
  }
  if (auto max_attempts =
          integer_field(data, "max_attempts", std::numeric_limits<std::int32_t>::max())) {
    row["max_attempts"] = *max_attempts;
  }
  constexpr std::int64_t kMaxLatencyMs = 1'000'000'000'000;  // ~31 years: nonsense beyond
  if (auto latency = integer_field(data, "latency_ms", kMaxLatencyMs)) row["latency_ms"] = *latency;
  constexpr std::int64_t kMaxSegments = 1000;  // a concatenated SMS has at most 255 parts
  if (auto segments = integer_field(data, "segments", kMaxSegments)) row["segments"] = *segments;
  return row;
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
  json rows = json::array();
  std::unordered_set<std::string_view> seen;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (seen.insert(events[i].id).second) rows.push_back(batch_row(events[i], i));
  }
  // Decoded events hold valid UTF-8 only, so dump cannot throw; `replace` keeps it that way.
  std::vector<pg::Param> params{rows.dump(-1, ' ', false, json::error_handler_t::replace),
                                months_of(events)};

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
