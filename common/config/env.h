#pragma once

#include "common/error/error.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace otp::config {

/// A configuration value that must never reach a log line: formats as `***`.
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  [[nodiscard]] const std::string& reveal() const noexcept { return value_; }
  [[nodiscard]] bool empty() const noexcept { return value_.empty(); }

 private:
  std::string value_;
};

/// Reads `OTP_*` variables and collects every problem instead of stopping at the first, so that a
/// service fails start-up once with the whole list. Typical use, in `<Svc>Config::from_env()`:
///
///   EnvReader env;
///   config.port = env.integer("OTP_HTTP_PORT", 8080, 1, 65535);
///   ...
///   if (auto done = env.finish(); !done) return tl::unexpected(done.error());
///
/// Not thread-safe; used once at start-up.
class EnvReader {
 public:
  using Lookup = std::function<std::optional<std::string>(const std::string&)>;

  /// `lookup` defaults to the process environment; tests pass a map.
  explicit EnvReader(Lookup lookup = {});

  std::string string(const std::string& key, std::string fallback);
  std::string required_string(const std::string& key);
  Secret required_secret(const std::string& key);
  Secret secret(const std::string& key, std::string fallback = {});
  std::int64_t integer(const std::string& key, std::int64_t fallback, std::int64_t min,
                       std::int64_t max);
  std::chrono::milliseconds millis(const std::string& key, std::chrono::milliseconds fallback,
                                   std::chrono::milliseconds min, std::chrono::milliseconds max);
  bool boolean(const std::string& key, bool fallback);
  /// Comma-separated list; empty items are dropped.
  std::vector<std::string> list(const std::string& key, std::vector<std::string> fallback);
  /// One of `allowed`.
  std::string choice(const std::string& key, std::string fallback,
                     const std::vector<std::string>& allowed);

  /// Records a problem found by the caller's own validation (e.g. a key ring that does not parse).
  void reject(const std::string& key, const std::string& reason);

  /// Ok if every read succeeded; otherwise one kInvalidInput error listing each bad key.
  [[nodiscard]] Result<void> finish() const;

 private:
  std::optional<std::string> get(const std::string& key) const;

  Lookup lookup_;
  std::vector<std::string> problems_;
};

}  // namespace otp::config
