#include "services/intake/readiness.h"

#include "common/pg/pg_connection.h"

#include <spdlog/spdlog.h>

#include <condition_variable>

namespace otp::intake {

PgReadiness::PgReadiness(config::Secret url, std::chrono::milliseconds interval)
    : reason_("PostgreSQL not checked yet") {
  thread_ = std::jthread([this, url = std::move(url), interval](const std::stop_token& stop) {
    run(stop, url, interval);
  });
}

PgReadiness::~PgReadiness() {
  thread_.request_stop();
  thread_.join();
}

std::optional<std::string> PgReadiness::unready_reason() const {
  std::lock_guard lock(mutex_);
  return reason_;
}

void PgReadiness::run(const std::stop_token& stop, config::Secret url,
                      std::chrono::milliseconds interval) {
  pg::PgConnection connection(std::move(url),
                              pg::PgOptions{.application_name = "otp-intake-readiness",
                                            .statement_timeout = std::chrono::milliseconds(2000)});
  std::mutex wait_mutex;
  std::condition_variable_any wake;
  bool was_ready = false;
  while (!stop.stop_requested()) {
    auto answered = connection.exec("SELECT 1");
    const bool ready = answered.has_value();
    {
      std::lock_guard lock(mutex_);
      if (ready) {
        reason_.reset();
      } else {
        // /readyz is public: the detail (host, port, libpq's words) goes to the log only.
        reason_ = "PostgreSQL unreachable";
      }
    }
    if (ready != was_ready) {
      if (ready) {
        spdlog::info("intake.pg_ready");
      } else {
        spdlog::warn("intake.pg_unready reason=\"{}\"", answered.error().message);
      }
      was_ready = ready;
    }
    std::unique_lock lock(wait_mutex);
    wake.wait_for(lock, stop, interval, [] { return false; });
  }
}

}  // namespace otp::intake
