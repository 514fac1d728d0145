#include "services/intake/compat/compat_config.h"

#include <algorithm>

namespace otp::intake::compat {

CompatConfig read_compat_config(config::EnvReader& env) {
  using std::chrono::milliseconds;
  CompatConfig config;
  config.tenant = env.string("OTP_COMPAT_TENANT", config.tenant);
  const bool valid_tenant = !config.tenant.empty() && config.tenant.size() <= 64 &&
                            std::all_of(config.tenant.begin(), config.tenant.end(), [](char c) {
                              return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                     (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
                            });
  if (!valid_tenant) {
    env.reject("OTP_COMPAT_TENANT", "must be 1 to 64 characters of [A-Za-z0-9._-]");
  }
  config.require_auth = env.boolean("OTP_COMPAT_REQUIRE_AUTH", false);
  config.delivery_timeout = env.millis("OTP_COMPAT_DELIVERY_TIMEOUT_MS", milliseconds(10'000),
                                       milliseconds(100), milliseconds(60'000));
  config.directory_cache = env.millis("OTP_COMPAT_DIRECTORY_CACHE_MS", milliseconds(30'000),
                                      milliseconds(0), milliseconds(3'600'000));
  return config;
}

}  // namespace otp::intake::compat
