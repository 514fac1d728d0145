#pragma once

#include "common/config/env.h"

#include <chrono>
#include <string>

namespace otp::intake::compat {

/// The compatibility routes' settings (docs/http-api.md "Compatibility routes"), read with the
/// rest of IntakeConfig. The directory uses the intake's OTP_PG_URL; CORS is the intake's
/// (OTP_CORS_ORIGINS, in front of every route). Immutable after start-up.
struct CompatConfig {
  /// The tenant every compat request acts for (OTP_COMPAT_TENANT).
  std::string tenant = "compat";
  /// Require the normal credentials on the compat routes; they must belong to `tenant`
  /// (OTP_COMPAT_REQUIRE_AUTH).
  bool require_auth = false;
  /// How long `POST /send-otp` waits for the delivery worker's first outcome
  /// (OTP_COMPAT_DELIVERY_TIMEOUT_MS).
  std::chrono::milliseconds delivery_timeout{10'000};
  /// How long a directory answer (found or not) is reused (OTP_COMPAT_DIRECTORY_CACHE_MS).
  std::chrono::milliseconds directory_cache{30'000};
};

/// Reads the keys above from `env` (errors are collected by `env`).
[[nodiscard]] CompatConfig read_compat_config(config::EnvReader& env);

}  // namespace otp::intake::compat
