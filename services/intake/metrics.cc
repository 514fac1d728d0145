#include "services/intake/metrics.h"

#include <fmt/format.h>

#include <algorithm>

namespace otp::intake {
namespace {

// Label values come from the route table and the HTTP parser (methods are tokens), but escape
// anyway: a broken exposition would fail the whole scrape.
std::string escape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

void HttpMetrics::observe(std::string_view route, std::string_view method, int status,
                          std::chrono::nanoseconds latency) {
  const double seconds = std::chrono::duration<double>(latency).count();
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(kBuckets.begin(), kBuckets.end(), seconds) - kBuckets.begin());
  std::lock_guard lock(mutex_);
  ++requests_[{std::string(route), std::string(method), status}];
  auto& histogram = durations_[{std::string(route), std::string(method)}];
  if (bucket < kBuckets.size()) ++histogram.buckets[bucket];
  ++histogram.count;
  histogram.sum_seconds += seconds;
}

std::string HttpMetrics::render() const {
  std::string out;
  out += "# HELP otp_http_requests_in_flight Requests received and not answered yet.\n";
  out += "# TYPE otp_http_requests_in_flight gauge\n";
  out += fmt::format("otp_http_requests_in_flight {}\n", in_flight());
  std::lock_guard lock(mutex_);
  out += "# HELP otp_http_requests_total Answered requests by route, method and status.\n";
  out += "# TYPE otp_http_requests_total counter\n";
  for (const auto& [labels, count] : requests_) {
    const auto& [route, method, status] = labels;
    out += fmt::format("otp_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{}\"}} {}\n",
                       escape(route), escape(method), status, count);
  }
  out += "# HELP otp_http_request_duration_seconds Time from arrival to response.\n";
  out += "# TYPE otp_http_request_duration_seconds histogram\n";
  for (const auto& [labels, histogram] : durations_) {
    const auto route = escape(labels.first);
    const auto method = escape(labels.second);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      cumulative += histogram.buckets[i];
      out += fmt::format(
          "otp_http_request_duration_seconds_bucket{{route=\"{}\",method=\"{}\",le=\"{}\"}} {}\n",
          route, method, kBuckets[i], cumulative);
    }
    out += fmt::format(
        "otp_http_request_duration_seconds_bucket{{route=\"{}\",method=\"{}\",le=\"+Inf\"}} {}\n",
        route, method, histogram.count);
    out += fmt::format("otp_http_request_duration_seconds_sum{{route=\"{}\",method=\"{}\"}} {}\n",
                       route, method, histogram.sum_seconds);
    out += fmt::format("otp_http_request_duration_seconds_count{{route=\"{}\",method=\"{}\"}} {}\n",
                       route, method, histogram.count);
  }
  return out;
}

}  // namespace otp::intake
