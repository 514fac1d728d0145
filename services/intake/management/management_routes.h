#pragma once

#include "services/intake/api_router.h"
#include "services/intake/management/management_query.h"
#include "services/intake/management/page_cursor.h"
#include "services/intake/management/query_pool.h"

namespace otp::intake::management {

/// The read-only management endpoints on the audit tables (docs/http-api.md, "Management
/// endpoints"): `GET /otp/list`, `/otp/logs`, `/otp/attempts`, `/otp/reports`,
/// `/otp/rate-limits`, scope `read`, always scoped to the calling tenant.
///
/// The query string is checked on the io thread (400 `invalid_request` naming the parameter);
/// the SQL runs on `pool` (never on an io thread), which answers the request. No pool (no
/// OTP_PG_URL), a full queue, or the database unreachable or too slow -> 503 `unavailable`
/// with Retry-After. Borrows everything; all of it must outlive the router.
class ManagementHandlers {
 public:
  ManagementHandlers(QueryPool* pool, const CursorCodec& cursors, RecipientHasher hasher)
      : pool_(pool), cursors_(cursors), hasher_(std::move(hasher)) {}

  void handle(Endpoint endpoint, const RouteRequest& request, ResponseCallback respond) const;

 private:
  QueryPool* pool_;
  const CursorCodec& cursors_;
  RecipientHasher hasher_;
};

/// Registers the five routes on `router`.
void add_management_routes(ApiRouter& router, const ManagementHandlers& handlers);

}  // namespace otp::intake::management
