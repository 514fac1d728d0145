#include "services/audit/pg_event_store.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <string>

namespace otp::audit {
namespace {

using nlohmann::json;

// The whole batch travels as one jsonb parameter: one round trip, no statement-size games.
// `batch` dedupes ids within the batch (the first occurrence wins, like a replay would);
// `claimed` takes the ids not stored yet in otp_event_ids (the exactly-once guard: otp_events is
// partitioned by time, so its own key cannot be the id alone); `inserted` stores only those
// events; `fresh` joins them back to their projection
// facts; `per_verification` folds those per verification; the final upsert merges that with the
// stored row by the same rules, so the outcome is independent of batch boundaries and of the
// order events arrive in. Rows are touched in key order to keep concurrent writers (a
// rebalance overlap) from deadlocking each other.
constexpr char kWriteBatch[] = R"sql(
WITH batch AS (
  SELECT DISTINCT ON (e.id) e.*
  FROM jsonb_to_recordset($1::jsonb) AS e(
    ord integer, id text, type text, source text, occurred_at timestamptz, tenant text,
    verification_id text, data jsonb, channel text, recipient_masked text, country text,
    number_prefix text, recipient_hash text, expires_at timestamptz, max_attempts integer,
    provider text, latency_ms bigint)
  ORDER BY e.id, e.ord
),
claimed AS (
  INSERT INTO otp_event_ids (id, occurred_at)
  SELECT id, occurred_at FROM batch ORDER BY id
  ON CONFLICT (id) DO NOTHING
  RETURNING id
),
inserted AS (
  INSERT INTO otp_events (id, type, source, occurred_at, tenant, verification_id, data)
  SELECT b.id, b.type, b.source, b.occurred_at, b.tenant, b.verification_id, b.data
  FROM batch b JOIN claimed c ON c.id = b.id
  RETURNING id
),
fresh AS (
  SELECT b.*,
    CASE b.type
      WHEN 'verification.created' THEN 'pending'
      WHEN 'verification.approved' THEN 'approved'
      WHEN 'verification.canceled' THEN 'canceled'
      WHEN 'verification.max_attempts_reached' THEN 'max_attempts_reached'
      WHEN 'verification.expired' THEN 'expired'
    END AS lifecycle_status,
    CASE b.type
      WHEN 'delivery.sent' THEN 'sent'
      WHEN 'delivery.failed' THEN 'failed'
      WHEN 'delivery.expired' THEN 'expired'
    END AS delivery_status
  FROM batch b JOIN inserted i ON i.id = b.id
),
per_verification AS (
  SELECT tenant, verification_id,
    (array_agg(channel ORDER BY occurred_at, id)
       FILTER (WHERE type = 'verification.created'))[1] AS channel,
    (array_agg(recipient_masked ORDER BY occurred_at, id)
       FILTER (WHERE type = 'verification.created'))[1] AS recipient_masked,
    (array_agg(country ORDER BY occurred_at, id)
       FILTER (WHERE type = 'verification.created'))[1] AS country,
    (array_agg(number_prefix ORDER BY occurred_at, id)
       FILTER (WHERE type = 'verification.created'))[1] AS number_prefix,
    (array_agg(recipient_hash ORDER BY occurred_at, id)
       FILTER (WHERE type = 'verification.created'))[1] AS recipient_hash,
    (array_agg(max_attempts ORDER BY occurred_at, id)
       FILTER (WHERE type = 'verification.created'))[1] AS max_attempts,
    min(occurred_at) FILTER (WHERE type = 'verification.created') AS created_at,
    max(expires_at) FILTER (WHERE type = 'verification.created') AS expires_at,
    COALESCE((array_agg(lifecycle_status ORDER BY otp_lifecycle_rank(lifecycle_status) DESC)
       FILTER (WHERE lifecycle_status IS NOT NULL))[1], 'pending') AS lifecycle_status,
    min(occurred_at) FILTER (WHERE type = 'verification.approved') AS approved_at,
    count(*) FILTER (WHERE type = 'verification.check_failed') AS attempts,
    max(occurred_at) AS last_event_at,
    (array_agg(delivery_status ORDER BY otp_delivery_rank(delivery_status) DESC, occurred_at, id)
       FILTER (WHERE delivery_status IS NOT NULL))[1] AS delivery_status,
    (array_agg(provider ORDER BY otp_delivery_rank(delivery_status) DESC, occurred_at, id)
       FILTER (WHERE delivery_status IS NOT NULL))[1] AS delivery_provider,
    (array_agg(occurred_at ORDER BY otp_delivery_rank(delivery_status) DESC, occurred_at, id)
       FILTER (WHERE delivery_status IS NOT NULL))[1] AS delivery_event_at,
    min(occurred_at) FILTER (WHERE type = 'delivery.sent') AS delivery_sent_at,
    (array_agg(latency_ms ORDER BY occurred_at, id)
       FILTER (WHERE type = 'delivery.sent'))[1] AS delivery_latency_ms
  FROM fresh
  GROUP BY tenant, verification_id
),
projected AS (
  INSERT INTO verifications AS v (
    tenant, verification_id, channel, recipient_masked, country, number_prefix, recipient_hash,
    max_attempts, created_at, expires_at, lifecycle_status, approved_at, attempts, last_event_at,
    updated_at, delivery_status, delivery_provider, delivery_event_at, delivery_sent_at,
    delivery_latency_ms)
  SELECT tenant, verification_id, channel, recipient_masked, country, number_prefix,
    recipient_hash, max_attempts, created_at, expires_at, lifecycle_status, approved_at, attempts,
    last_event_at, now(), delivery_status, delivery_provider, delivery_event_at, delivery_sent_at,
    delivery_latency_ms
  FROM per_verification
  ORDER BY tenant, verification_id
  ON CONFLICT (tenant, verification_id) DO UPDATE SET
    channel = CASE WHEN EXCLUDED.created_at < v.created_at OR v.created_at IS NULL
                   THEN COALESCE(EXCLUDED.channel, v.channel) ELSE v.channel END,
    recipient_masked = CASE WHEN EXCLUDED.created_at < v.created_at OR v.created_at IS NULL
                   THEN COALESCE(EXCLUDED.recipient_masked, v.recipient_masked)
                   ELSE v.recipient_masked END,
    country = CASE WHEN EXCLUDED.created_at < v.created_at OR v.created_at IS NULL
                   THEN COALESCE(EXCLUDED.country, v.country) ELSE v.country END,
    number_prefix = CASE WHEN EXCLUDED.created_at < v.created_at OR v.created_at IS NULL
                   THEN COALESCE(EXCLUDED.number_prefix, v.number_prefix)
                   ELSE v.number_prefix END,
    recipient_hash = CASE WHEN EXCLUDED.created_at < v.created_at OR v.created_at IS NULL
                   THEN COALESCE(EXCLUDED.recipient_hash, v.recipient_hash)
                   ELSE v.recipient_hash END,
    max_attempts = CASE WHEN EXCLUDED.created_at < v.created_at OR v.created_at IS NULL
                   THEN COALESCE(EXCLUDED.max_attempts, v.max_attempts) ELSE v.max_attempts END,
    created_at = LEAST(v.created_at, EXCLUDED.created_at),
    expires_at = GREATEST(v.expires_at, EXCLUDED.expires_at),
    lifecycle_status = CASE
      WHEN otp_lifecycle_rank(EXCLUDED.lifecycle_status) > otp_lifecycle_rank(v.lifecycle_status)
      THEN EXCLUDED.lifecycle_status ELSE v.lifecycle_status END,
    approved_at = LEAST(v.approved_at, EXCLUDED.approved_at),
    attempts = v.attempts + EXCLUDED.attempts,
    last_event_at = GREATEST(v.last_event_at, EXCLUDED.last_event_at),
    updated_at = now(),
    delivery_status = CASE
      WHEN otp_delivery_supersedes(EXCLUDED.delivery_status, EXCLUDED.delivery_event_at,
                                   v.delivery_status, v.delivery_event_at)
      THEN EXCLUDED.delivery_status ELSE v.delivery_status END,
    delivery_provider = CASE
      WHEN otp_delivery_supersedes(EXCLUDED.delivery_status, EXCLUDED.delivery_event_at,
                                   v.delivery_status, v.delivery_event_at)
      THEN EXCLUDED.delivery_provider ELSE v.delivery_provider END,
    delivery_event_at = CASE
      WHEN otp_delivery_supersedes(EXCLUDED.delivery_status, EXCLUDED.delivery_event_at,
                                   v.delivery_status, v.delivery_event_at)
      THEN EXCLUDED.delivery_event_at ELSE v.delivery_event_at END,
    delivery_sent_at = LEAST(v.delivery_sent_at, EXCLUDED.delivery_sent_at),
    delivery_latency_ms = CASE
      WHEN EXCLUDED.delivery_sent_at < v.delivery_sent_at OR v.delivery_sent_at IS NULL
      THEN COALESCE(EXCLUDED.delivery_latency_ms, v.delivery_latency_ms)
      ELSE v.delivery_latency_ms END
  RETURNING 1
)
SELECT (SELECT count(*) FROM inserted), (SELECT count(*) FROM projected)
)sql";

// Creates the monthly partitions of otp_events that the batch's event times fall in, if missing
// (schemas/sql/0002): one catalogue look-up per distinct month when they all exist.
constexpr char kEnsurePartitions[] =
    "SELECT coalesce(sum(otp_ensure_event_partitions(m, m)), 0)"
    " FROM unnest($1::timestamptz[]) AS m";

constexpr char kCheckSchema[] =
    "SELECT has_table_privilege('otp_events', 'INSERT')"
    " AND has_table_privilege('otp_event_ids', 'INSERT')"
    " AND has_table_privilege('verifications', 'INSERT, UPDATE')";

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
  json row = {{"ord", ord},
              {"id", event.id},
              {"type", event.type},
              {"source", event.source},
              {"occurred_at", format_rfc3339(event.time)},
              {"tenant", event.tenant},
              {"verification_id", event.verification_id},
              {"data", event.data}};
  const json& data = event.data;
  if (auto channel = text_field(data, "channel")) row["channel"] = *channel;
  if (auto masked = text_field(data, "recipient_masked")) row["recipient_masked"] = *masked;
  if (auto country = text_field(data, "country")) row["country"] = *country;
  if (auto prefix = text_field(data, "number_prefix")) row["number_prefix"] = *prefix;
  if (auto hash = text_field(data, "recipient_hash")) row["recipient_hash"] = *hash;
  if (auto provider = text_field(data, "provider")) row["provider"] = *provider;
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
  json rows = json::array();
  for (std::size_t i = 0; i < events.size(); ++i) rows.push_back(batch_row(events[i], i));
  // Decoded events hold valid UTF-8 only, so dump cannot throw; `replace` keeps it that way.
  std::vector<pg::Param> params{rows.dump(-1, ' ', false, json::error_handler_t::replace)};
  std::vector<pg::Param> months{months_of(events)};

  WriteSummary summary;
  auto done = connection_.transact([&](pg::Transaction& tx) -> Result<void> {
    if (auto ensured = tx.exec(kEnsurePartitions, months); !ensured) {
      return tl::unexpected(ensured.error());
    }
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
                "verifications (migrations 0001-0002 applied?)");
  }
  return {};
}

}  // namespace otp::audit
