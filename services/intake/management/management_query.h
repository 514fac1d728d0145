#pragma once

#include "common/pg/pg_connection.h"
#include "common/time/clock.h"
#include "services/intake/api_response.h"
#include "services/intake/management/page_cursor.h"
#include "services/intake/management/query_params.h"

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace otp::intake::management {

/// The management endpoints, also the names cursors are bound to.
enum class Endpoint { kList, kLogs, kAttempts, kReports, kRateLimits };
[[nodiscard]] const char* endpoint_name(Endpoint endpoint);

/// The filters of one management request, checked. `recipient_hash` is the keyed hash of the
/// normalised recipient (the clear recipient never reaches SQL or a log).
struct Filters {
  std::optional<std::string> status;
  std::optional<std::string> channel;
  std::optional<std::string> recipient_hash;
  std::optional<std::string> verification_id;
  std::optional<TimePoint> from;
  std::optional<TimePoint> to;
  std::size_t limit = 50;
  std::optional<PageKey> after;
};

/// Hashes a normalised recipient for the `recipient` filter; nullopt when the intake has no
/// HMAC key (then the filter is refused).
using RecipientHasher =
    std::function<std::optional<std::string>(const std::string& tenant, const std::string& clear)>;

/// Parses and checks the query string of `endpoint` for `tenant`: 400 `invalid_request` naming
/// the parameter for anything wrong (unknown or repeated name, bad status/channel/time/limit,
/// `from` after `to`, a cursor that does not verify, a recipient that is no phone number or
/// email address, `attempts` without `verification_id` or `recipient`).
[[nodiscard]] ApiResult<Filters> parse_filters(Endpoint endpoint, const std::string& tenant,
                                               std::string_view raw_query,
                                               const CursorCodec& cursors,
                                               const RecipientHasher& hasher);

/// One statement and its parameters: every value from the request is a parameter, the text is
/// built from constant fragments only.
struct SqlQuery {
  std::string text;
  std::vector<pg::Param> params;
};

/// The page query of `endpoint` (list, logs, attempts): rows of (json object text, at_us, id),
/// newest first, `limit + 1` of them at most (the extra row says there is a next page).
[[nodiscard]] SqlQuery page_query(Endpoint endpoint, const std::string& tenant,
                                  const Filters& filters);
/// Daily aggregates of the reporting views for the tenant over [from, to] (days, UTC).
[[nodiscard]] SqlQuery reports_query(const std::string& tenant, const Filters& filters);
/// The tenant's configured limits and current usage: one row of one JSON object text.
[[nodiscard]] SqlQuery rate_limits_query(const std::string& tenant);

}  // namespace otp::intake::management
