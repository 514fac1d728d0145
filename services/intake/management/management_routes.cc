#include "services/intake/management/management_routes.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <memory>
#include <string>
#include <utility>

namespace otp::intake::management {
namespace {

using nlohmann::ordered_json;

/// What a failed query answers: the database down or slow is 503, anything else is a bug (500).
HttpResponse query_failure(Endpoint endpoint, const Error& error) {
  if (error.is_retryable() || error.code == Errc::kTimeout) {
    spdlog::warn("mgmt.query_unavailable endpoint={} errc={}", endpoint_name(endpoint),
                 to_string(error.code));
    return error_response(
        unavailable("the audit database is unavailable", std::chrono::seconds(2)));
  }
  spdlog::error("mgmt.query_failed endpoint={} errc={} error=\"{}\"", endpoint_name(endpoint),
                to_string(error.code), error.message);
  return error_response(internal_error());
}

HttpResponse run(Endpoint endpoint, const std::string& tenant, const Filters& filters,
                 const SqlQuery& query, const CursorCodec& cursors, pg::PgConnection& connection) {
  auto rows = connection.exec(query.text, query.params);
  if (!rows) return query_failure(endpoint, rows.error());
  ordered_json body = {{"success", true}};
  if (endpoint == Endpoint::kRateLimits) {
    if (rows->size() != 1 || !rows->front()[0]) return error_response(internal_error());
    body["data"] = ordered_json::parse(*rows->front()[0]);
    return json_response(200, body);
  }
  ordered_json data = ordered_json::array();
  if (endpoint == Endpoint::kReports) {
    for (const auto& row : *rows) data.push_back(ordered_json::parse(row[0].value_or("null")));
    body["data"] = std::move(data);
    body["next_cursor"] = nullptr;
    return json_response(200, body);
  }
  const std::size_t shown = std::min(rows->size(), filters.limit);
  for (std::size_t i = 0; i < shown; ++i) {
    data.push_back(ordered_json::parse((*rows)[i][0].value_or("null")));
  }
  body["data"] = std::move(data);
  body["next_cursor"] = nullptr;
  if (rows->size() > filters.limit && shown > 0) {
    const auto& last = (*rows)[shown - 1];
    if (last.size() == 3 && last[1] && last[2]) {
      body["next_cursor"] = cursors.encode(endpoint_name(endpoint), tenant,
                                           PageKey{.at_us = std::stoll(*last[1]), .id = *last[2]});
    }
  }
  return json_response(200, body);
}

}  // namespace

void ManagementHandlers::handle(Endpoint endpoint, const RouteRequest& request,
                                ResponseCallback respond) const {
  if (request.tenant == nullptr) return respond(error_response(internal_error()));
  const std::string tenant = request.tenant->id;
  auto filters = parse_filters(endpoint, tenant, request.http.query, cursors_, hasher_);
  if (!filters) return respond(error_response(filters.error()));
  if (pool_ == nullptr) {
    return respond(error_response(unavailable(
        "management endpoints need the audit database (OTP_PG_URL)", std::chrono::seconds(30))));
  }
  SqlQuery query = endpoint == Endpoint::kReports      ? reports_query(tenant, *filters)
                   : endpoint == Endpoint::kRateLimits ? rate_limits_query(tenant)
                                                       : page_query(endpoint, tenant, *filters);
  // The callback is shared between the job and this thread: exactly one of them calls it.
  auto shared = std::make_shared<ResponseCallback>(std::move(respond));
  const CursorCodec& cursors = cursors_;
  bool queued =
      pool_->submit([endpoint, tenant, checked = std::move(*filters), query = std::move(query),
                     &cursors, shared](pg::PgConnection* connection) {
        if (connection == nullptr) {
          return (*shared)(error_response(unavailable("shutting down", std::chrono::seconds(2))));
        }
        HttpResponse response;
        try {
          response = run(endpoint, tenant, checked, query, cursors, *connection);
        } catch (const std::exception& error) {
          spdlog::error("mgmt.reply_failed endpoint={} error=\"{}\"", endpoint_name(endpoint),
                        error.what());
          response = error_response(internal_error());
        }
        (*shared)(std::move(response));
      });
  if (!queued) {
    (*shared)(error_response(unavailable("too many management queries in flight")));
  }
}

void add_management_routes(ApiRouter& router, const ManagementHandlers& handlers) {
  const std::pair<const char*, Endpoint> routes[] = {{"/otp/list", Endpoint::kList},
                                                     {"/otp/logs", Endpoint::kLogs},
                                                     {"/otp/attempts", Endpoint::kAttempts},
                                                     {"/otp/reports", Endpoint::kReports},
                                                     {"/otp/rate-limits", Endpoint::kRateLimits}};
  for (const auto& [path, endpoint] : routes) {
    router.add(
        tenant_route("GET", path, Scope::kRead, false),
        [&handlers, endpoint = endpoint](const RouteRequest& request, ResponseCallback respond) {
          handlers.handle(endpoint, request, std::move(respond));
        });
  }
}

}  // namespace otp::intake::management
