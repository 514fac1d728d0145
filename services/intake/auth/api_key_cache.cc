#include "services/intake/auth/api_key_cache.h"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <thread>

namespace otp::intake::auth {

std::shared_ptr<const ApiKeySet> ApiKeyCache::snapshot() const {
  const std::lock_guard lock(mutex_);
  return keys_;
}

Result<void> ApiKeyCache::refresh() {
  auto loaded = loader_.load_active();
  if (!loaded) return tl::unexpected(loaded.error());
  auto set = std::make_shared<ApiKeySet>();
  set->reserve(loaded->size());
  for (auto& record : *loaded) {
    auto id = record.id;
    set->insert_or_assign(std::move(id), std::move(record));
  }
  const std::lock_guard lock(mutex_);
  keys_ = std::move(set);
  return {};
}

void ApiKeyCache::run(const std::stop_token& stop, std::chrono::milliseconds interval) {
  std::mutex wait_mutex;
  std::condition_variable_any wake;
  bool first = true;
  while (!stop.stop_requested()) {
    auto done = refresh();
    if (done) {
      if (first || failing_) {
        spdlog::info("intake.api_keys_loaded keys={}", snapshot()->size());
      }
      failing_ = false;
      first = false;
    } else if (!failing_) {
      failing_ = true;
      if (snapshot()) {
        spdlog::warn("intake.api_keys_refresh_failed reason=\"{}\" serving=last_good_snapshot",
                     done.error().message);
      } else {
        spdlog::warn("intake.api_keys_load_failed reason=\"{}\" (database keys answer 503)",
                     done.error().message);
      }
    }
    std::unique_lock lock(wait_mutex);
    wake.wait_for(lock, stop, interval, [] { return false; });
  }
}

}  // namespace otp::intake::auth
