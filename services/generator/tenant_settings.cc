#include "services/generator/tenant_settings.h"

#include <spdlog/spdlog.h>

namespace otp::generator {

Result<std::optional<TenantSettings>> StaticTenantSettings::find(const std::string& /*tenant*/) {
  return settings_;
}

CachedTenantSettings::CachedTenantSettings(Loader loader, const Clock& clock,
                                           std::chrono::milliseconds refresh)
    : loader_(std::move(loader)), clock_(clock), refresh_(refresh) {}

Result<std::optional<TenantSettings>> CachedTenantSettings::find(const std::string& tenant) {
  const TimePoint now = clock_.now();
  if (!last_attempt_ || now - *last_attempt_ >= refresh_ || now < *last_attempt_) {
    last_attempt_ = now;
    auto loaded = loader_();
    if (loaded) {
      if (!tenants_) spdlog::info("tenants.loaded count={}", loaded->size());
      tenants_ = std::move(*loaded);
    } else {
      last_error_ = loaded.error();
      spdlog::warn("tenants.load_failed keeping_last_good={} error=\"{}\"", tenants_.has_value(),
                   last_error_.message);
    }
  }
  // Never loaded: the rules are unknown, so nothing may be issued. Retryable whatever the cause
  // (a missing migration included): the record waits until an operator fixes it.
  if (!tenants_) return fail(Errc::kUnavailable, "tenant settings: " + last_error_.message);
  auto it = tenants_->find(tenant);
  if (it == tenants_->end()) return std::nullopt;
  return it->second;
}

}  // namespace otp::generator
