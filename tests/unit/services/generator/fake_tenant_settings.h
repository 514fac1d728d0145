#pragma once

#include "services/generator/tenant_settings.h"

namespace otp::generator::testing {

/// Tenants in a map the test edits; `down` makes every look-up fail as a database outage would
/// before the first load.
class FakeTenantSettings final : public TenantSettingsSource {
 public:
  [[nodiscard]] Result<std::optional<TenantSettings>> find(const std::string& tenant) override {
    ++lookups;
    if (down) return fail(Errc::kUnavailable, "tenant settings: database down");
    auto it = tenants.find(tenant);
    if (it == tenants.end()) return std::nullopt;
    return it->second;
  }

  TenantSettingsMap tenants;
  bool down = false;
  int lookups = 0;
};

}  // namespace otp::generator::testing
