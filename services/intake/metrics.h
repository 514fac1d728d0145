#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

namespace otp::intake {

/// The intake's Prometheus metrics (served by `GET /metrics`, text exposition format 0.0.4):
///   - `otp_http_requests_total{route,method,status}`: counter;
///   - `otp_http_request_duration_seconds{route,method}`: histogram (buckets below);
///   - `otp_http_requests_in_flight`: gauge, requests received and not yet answered.
/// `route` is the route's path template or `unknown`, never the raw URL, so the label set stays
/// bounded. Thread-safe: `observe` takes one short lock, the in-flight gauge is an atomic.
class HttpMetrics {
 public:
  /// Upper bounds of the latency buckets, in seconds (`+Inf` is implied).
  static constexpr std::array<double, 12> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,   0.5,   1.0,  2.5,   5.0};

  /// One answered request (ApiRouter's observer).
  void observe(std::string_view route, std::string_view method, int status,
               std::chrono::nanoseconds latency);

  void request_started() noexcept { in_flight_.fetch_add(1, std::memory_order_relaxed); }
  void request_finished() noexcept { in_flight_.fetch_sub(1, std::memory_order_relaxed); }
  [[nodiscard]] std::int64_t in_flight() const noexcept {
    return in_flight_.load(std::memory_order_relaxed);
  }

  /// Everything in the Prometheus text format.
  [[nodiscard]] std::string render() const;

 private:
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> buckets{};  ///< non-cumulative counts
    std::uint64_t count = 0;
    double sum_seconds = 0;
  };

  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests_;  // guarded
  std::map<std::pair<std::string, std::string>, Histogram> durations_;           // guarded
  std::atomic<std::int64_t> in_flight_{0};
};

}  // namespace otp::intake
