#include "services/intake/management/management_query.h"

#include "common/messages/types.h"
#include "common/random/rng.h"
#include "services/intake/recipient_validator.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <span>

namespace otp::intake::management {
namespace {

constexpr std::array<std::string_view, 6> kStatuses = {
    "pending", "approved", "canceled", "max_attempts_reached", "expired", "failed"};
constexpr std::size_t kMaxLimit = 200;
constexpr auto kMaxReportRange = std::chrono::hours(24 * 92);

std::string param_error(std::string_view name, std::string_view what) {
  return "query parameter '" + std::string(name) + "' " + std::string(what);
}

/// `$n` for the next parameter, after adding `value`.
std::string add_param(SqlQuery& query, pg::Param value) {
  query.params.push_back(std::move(value));
  return "$" + std::to_string(query.params.size());
}

std::string micros(TimePoint time) {
  return std::to_string(
      std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count());
}

/// An RFC 3339 UTC text of a timestamptz column, milliseconds.
std::string rfc3339(const std::string& column) {
  return "to_char(" + column + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";
}

std::string epoch_us(const std::string& column) {
  return "(extract(epoch FROM " + column + ") * 1000000)::bigint";
}

/// The instant of a microsecond count parameter, exactly.
std::string instant(const std::string& placeholder) {
  return "('epoch'::timestamptz + " + placeholder + "::bigint * interval '1 microsecond')";
}

/// Conditions on verifications `v` from the verification filters.
std::string verification_conditions(SqlQuery& query, const Filters& filters) {
  std::string where;
  if (filters.status) where += " AND v.status = " + add_param(query, *filters.status);
  if (filters.channel) where += " AND v.channel = " + add_param(query, *filters.channel);
  if (filters.recipient_hash) {
    where += " AND v.recipient_hash = " + add_param(query, *filters.recipient_hash);
  }
  return where;
}

}  // namespace

const char* endpoint_name(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kList:
      return "list";
    case Endpoint::kLogs:
      return "logs";
    case Endpoint::kAttempts:
      return "attempts";
    case Endpoint::kReports:
      return "reports";
    case Endpoint::kRateLimits:
      return "rate-limits";
  }
  return "unknown";
}

ApiResult<Filters> parse_filters(Endpoint endpoint, const std::string& tenant,
                                 std::string_view raw_query, const CursorCodec& cursors,
                                 const RecipientHasher& hasher) {
  static constexpr std::array<std::string_view, 7> kListParams = {
      "status", "channel", "recipient", "from", "to", "limit", "cursor"};
  static constexpr std::array<std::string_view, 8> kEventParams = {
      "status", "channel", "recipient", "from", "to", "limit", "cursor", "verification_id"};
  static constexpr std::array<std::string_view, 2> kReportParams = {"from", "to"};
  std::span<const std::string_view> allowed;
  switch (endpoint) {
    case Endpoint::kList:
      allowed = kListParams;
      break;
    case Endpoint::kLogs:
    case Endpoint::kAttempts:
      allowed = kEventParams;
      break;
    case Endpoint::kReports:
      allowed = kReportParams;
      break;
    case Endpoint::kRateLimits:
      break;
  }
  auto params = QueryParams::parse(raw_query, allowed);
  if (!params) return tl::unexpected(params.error());
  Filters filters;

  if (auto status = params->get("status")) {
    if (std::find(kStatuses.begin(), kStatuses.end(), *status) == kStatuses.end()) {
      return tl::unexpected(invalid_request(
          param_error("status",
                      "must be pending, approved, canceled, max_attempts_reached, expired or "
                      "failed")));
    }
    filters.status = *status;
  }
  if (auto channel = params->get("channel")) {
    if (!messages::parse_channel(*channel)) {
      return tl::unexpected(
          invalid_request(param_error("channel", "must be sms, email or whatsapp")));
    }
    filters.channel = *channel;
  }
  if (auto recipient = params->get("recipient")) {
    // The channel decides the normal form; without one, an '@' means an email address.
    bool email =
        filters.channel ? *filters.channel == "email" : recipient->find('@') != std::string::npos;
    auto normal = email ? normalize_email(*recipient) : normalize_phone_number(*recipient);
    if (!normal) {
      return tl::unexpected(
          invalid_request(param_error("recipient",
                                      "must be a phone number in international form or an email "
                                      "address")));
    }
    auto hash = hasher ? hasher(tenant, *normal) : std::nullopt;
    if (!hash) {
      return tl::unexpected(invalid_request(
          param_error("recipient", "cannot be used: this server has no recipient hash key")));
    }
    filters.recipient_hash = std::move(*hash);
  }
  if (auto vid = params->get("verification_id")) {
    if (!is_verification_id(*vid)) {
      return tl::unexpected(
          invalid_request(param_error("verification_id", "is not a verification id")));
    }
    filters.verification_id = *vid;
  }
  for (const char* name : {"from", "to"}) {
    if (auto text = params->get(name)) {
      auto time = parse_rfc3339(*text);
      if (!time) {
        return tl::unexpected(invalid_request(param_error(name, "must be an RFC 3339 time")));
      }
      (std::string_view(name) == "from" ? filters.from : filters.to) = *time;
    }
  }
  if (filters.from && filters.to && *filters.from > *filters.to) {
    return tl::unexpected(invalid_request(param_error("from", "must not be after 'to'")));
  }
  if (auto limit = params->get("limit")) {
    std::size_t value = 0;
    auto [end, error] = std::from_chars(limit->data(), limit->data() + limit->size(), value);
    if (limit->empty() || error != std::errc() || end != limit->data() + limit->size() ||
        value < 1 || value > kMaxLimit) {
      return tl::unexpected(
          invalid_request(param_error("limit", "must be an integer between 1 and 200")));
    }
    filters.limit = value;
  }
  if (auto cursor = params->get("cursor")) {
    auto key = cursors.decode(endpoint_name(endpoint), tenant, *cursor);
    if (!key) {
      return tl::unexpected(invalid_request(
          param_error("cursor", "is not valid (use next_cursor of the previous page as is)")));
    }
    filters.after = std::move(*key);
  }
  if (endpoint == Endpoint::kAttempts && !filters.verification_id && !filters.recipient_hash) {
    return tl::unexpected(
        invalid_request("query parameter 'verification_id' or 'recipient' is required"));
  }
  if (endpoint == Endpoint::kReports) {
    auto to = filters.to.value_or(std::chrono::system_clock::now());
    auto from = filters.from.value_or(to - std::chrono::hours(24 * 7));
    if (from > to) {
      return tl::unexpected(invalid_request(param_error("from", "must not be after 'to'")));
    }
    if (to - from > kMaxReportRange) {
      return tl::unexpected(
          invalid_request(param_error("from", "must be at most 92 days before 'to'")));
    }
    filters.from = from;
    filters.to = to;
  }
  return filters;
}

SqlQuery page_query(Endpoint endpoint, const std::string& tenant, const Filters& filters) {
  SqlQuery query;
  const std::string tenant_param = add_param(query, tenant);
  if (endpoint == Endpoint::kList) {
    query.text =
        "SELECT json_build_object("
        "'verification_id', v.verification_id, 'status', v.status, 'channel', v.channel,"
        " 'recipient_masked', v.recipient_masked, 'country', v.country,"
        " 'created_at', " +
        rfc3339("v.created_at") + ", 'expires_at', " + rfc3339("v.expires_at") +
        ", 'approved_at', " + rfc3339("v.approved_at") +
        ", 'failed_attempts', v.attempts, 'max_attempts', v.max_attempts, 'resends', v.resends,"
        " 'delivery_status', v.delivery_status, 'delivery_provider', v.delivery_provider,"
        " 'delivery_receipt', v.delivery_receipt, 'last_event_at', " +
        rfc3339("v.last_event_at") + ")::text, " + epoch_us("v.created_at") +
        ", v.verification_id FROM verifications v WHERE v.tenant = " + tenant_param +
        " AND v.created_at IS NOT NULL" + verification_conditions(query, filters);
    if (filters.from)
      query.text += " AND v.created_at >= " + instant(add_param(query, micros(*filters.from)));
    if (filters.to)
      query.text += " AND v.created_at <= " + instant(add_param(query, micros(*filters.to)));
    if (filters.after) {
      auto at = add_param(query, std::to_string(filters.after->at_us));
      auto id = add_param(query, filters.after->id);
      query.text += " AND (v.created_at, v.verification_id) < (" + instant(at) + ", " + id + ")";
    }
    query.text += " ORDER BY v.created_at DESC, v.verification_id DESC LIMIT " +
                  add_param(query, std::to_string(filters.limit + 1)) + "::bigint";
    return query;
  }

  // logs and attempts: the tenant's events, newest first.
  query.text =
      "SELECT json_build_object('id', e.id, 'type', e.type, 'source', e.source,"
      " 'occurred_at', " +
      rfc3339("e.occurred_at") +
      ", 'verification_id', e.verification_id, 'data', e.data - 'recipient_hash')::text, " +
      epoch_us("e.occurred_at") + ", e.id FROM otp_events e WHERE e.tenant = " + tenant_param;
  if (endpoint == Endpoint::kAttempts) {
    query.text +=
        " AND e.type IN ('verification.check_failed', 'verification.approved',"
        " 'verification.max_attempts_reached')";
  }
  if (filters.verification_id) {
    query.text += " AND e.verification_id = " + add_param(query, *filters.verification_id);
  }
  if (filters.status || filters.channel || filters.recipient_hash) {
    query.text +=
        " AND e.verification_id IN (SELECT v.verification_id FROM verifications v"
        " WHERE v.tenant = " +
        tenant_param + verification_conditions(query, filters) + ")";
  }
  if (filters.from)
    query.text += " AND e.occurred_at >= " + instant(add_param(query, micros(*filters.from)));
  if (filters.to)
    query.text += " AND e.occurred_at <= " + instant(add_param(query, micros(*filters.to)));
  if (filters.after) {
    auto at = add_param(query, std::to_string(filters.after->at_us));
    auto id = add_param(query, filters.after->id);
    query.text += " AND (e.occurred_at, e.id) < (" + instant(at) + ", " + id + ")";
  }
  query.text += " ORDER BY e.occurred_at DESC, e.id DESC LIMIT " +
                add_param(query, std::to_string(filters.limit + 1)) + "::bigint";
  return query;
}

SqlQuery reports_query(const std::string& tenant, const Filters& filters) {
  SqlQuery query;
  auto t = add_param(query, tenant);
  auto from = "(" + instant(add_param(query, micros(filters.from.value_or(TimePoint{})))) +
              " AT TIME ZONE 'UTC')::date";
  auto to = "(" + instant(add_param(query, micros(filters.to.value_or(TimePoint{})))) +
            " AT TIME ZONE 'UTC')::date";
  std::string range = " WHERE tenant = " + t + " AND day BETWEEN " + from + " AND " + to;
  query.text =
      "WITH volume AS (SELECT day, sum(verifications) AS verifications, sum(delivered) AS"
      " delivered, sum(approved) AS approved, sum(failed) AS failed FROM report_daily_volume" +
      range +
      " GROUP BY day), conversion AS (SELECT day, sum(sent) AS sent, sum(verified) AS"
      " verified FROM report_conversion" +
      range +
      " GROUP BY day), cost AS (SELECT day, sum(messages) AS sms_messages, sum(segments) AS"
      " sms_segments, sum(estimated_cost) AS estimated_cost FROM report_sms_cost" +
      range +
      " GROUP BY day)"
      " SELECT json_build_object('day', to_char(day, 'YYYY-MM-DD'),"
      " 'verifications', COALESCE(verifications, 0), 'delivered', COALESCE(delivered, 0),"
      " 'approved', COALESCE(approved, 0), 'failed', COALESCE(failed, 0),"
      " 'success_rate', round(approved::numeric / NULLIF(verifications, 0), 4),"
      " 'sent', COALESCE(sent, 0), 'verified', COALESCE(verified, 0),"
      " 'conversion_rate', round(verified::numeric / NULLIF(sent, 0), 4),"
      " 'sms_messages', COALESCE(sms_messages, 0), 'sms_segments', COALESCE(sms_segments, 0),"
      " 'estimated_cost', estimated_cost)::text"
      " FROM volume FULL JOIN conversion USING (day) FULL JOIN cost USING (day) ORDER BY day";
  return query;
}

SqlQuery rate_limits_query(const std::string& tenant) {
  SqlQuery query;
  auto t = add_param(query, tenant);
  query.text =
      "SELECT json_build_object("
      "'configured', t.id IS NOT NULL,"
      " 'limits', CASE WHEN t.id IS NULL THEN NULL ELSE json_build_object("
      "'send_rate_per_second', t.send_rate_per_second, 'send_burst', t.send_burst,"
      " 'sends_per_destination', t.sends_per_destination, 'window_seconds', t.window_seconds,"
      " 'resend_cooldown_seconds', t.resend_cooldown_seconds, 'max_attempts', t.max_attempts,"
      " 'failure_lock_threshold', t.failure_lock_threshold) END,"
      " 'usage', json_build_object("
      "'window_seconds', COALESCE(t.window_seconds, 600),"
      " 'sends_in_window', (SELECT count(*) FROM otp_events e WHERE e.tenant = " +
      t +
      " AND e.type IN ('verification.created', 'verification.resent')"
      " AND e.occurred_at >= now() - COALESCE(t.window_seconds, 600) * interval '1 second'),"
      " 'sends_last_second', (SELECT count(*) FROM otp_events e WHERE e.tenant = " +
      t +
      " AND e.type IN ('verification.created', 'verification.resent')"
      " AND e.occurred_at >= now() - interval '1 second'),"
      " 'locks_in_window', (SELECT count(*) FROM otp_events e WHERE e.tenant = " +
      t +
      " AND e.type IN ('verification.max_attempts_reached', 'recipient.locked')"
      " AND e.occurred_at >= now() - COALESCE(t.window_seconds, 600) * interval '1 second'),"
      " 'measured_at', " +
      rfc3339("now()") +
      "))::text"
      " FROM (SELECT " +
      t + "::text AS wanted) w LEFT JOIN tenants t ON t.id = w.wanted";
  return query;
}

}  // namespace otp::intake::management
