#pragma once

#include "common/config/env.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace otp::intake {

/// Whether PostgreSQL (OTP_PG_URL) answers, for `GET /readyz`. A thread of its own runs
/// `SELECT 1` every `interval` on one connection (reconnecting as needed), so the HTTP threads
/// only read the last result. Not ready until the first probe succeeded. Thread-safe.
class PgReadiness {
 public:
  PgReadiness(config::Secret url, std::chrono::milliseconds interval);
  ~PgReadiness();
  PgReadiness(const PgReadiness&) = delete;
  PgReadiness& operator=(const PgReadiness&) = delete;

  /// nullopt while the last probe succeeded; otherwise a short reason without details (the
  /// route is public; the log has libpq's message).
  [[nodiscard]] std::optional<std::string> unready_reason() const;

 private:
  void run(const std::stop_token& stop, config::Secret url, std::chrono::milliseconds interval);

  mutable std::mutex mutex_;
  std::optional<std::string> reason_;  // guarded by mutex_
  std::jthread thread_;
};

}  // namespace otp::intake
