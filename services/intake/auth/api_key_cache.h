#pragma once

#include "common/error/error.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <unordered_map>
#include <vector>

namespace otp::intake::auth {

/// One usable (not revoked) API key as the intake needs it. Never holds a clear secret.
struct ApiKeyRecord {
  std::string id;
  std::string tenant;
  std::string secret_hash;  ///< api_key_secret.h format
  unsigned scopes = 0;      ///< auth/scopes.h bits
};

/// Every usable key by id, as of one load. Immutable once published.
using ApiKeySet = std::unordered_map<std::string, ApiKeyRecord>;

/// Where keys come from (PostgreSQL in production, a fake in unit tests).
class ApiKeyLoader {
 public:
  virtual ~ApiKeyLoader() = default;
  /// Every key that is not revoked. Errors are retryable when the store is down.
  [[nodiscard]] virtual Result<std::vector<ApiKeyRecord>> load_active() = 0;
};

/// The intake's in-memory copy of the usable API keys, so that authenticating a request never
/// waits for a database: a background thread calls `run`, which reloads the whole set every
/// `interval` and swaps it in atomically. A revoked key thus stops working within one interval
/// (plus the query time).
///
/// Fail closed, then keep serving: until the first load succeeds `snapshot()` is null and the
/// authenticator answers 503; if a later reload fails, the last good set stays in use (a
/// database outage does not lock every client out) and a warning is logged when that starts
/// and when it ends. The price: a key revoked during an outage still works until the database
/// is back.
///
/// `snapshot()` is thread-safe and cheap (a shared_ptr copy under a mutex); `refresh` and `run`
/// are called from one thread. Holds the loader by reference.
class ApiKeyCache {
 public:
  explicit ApiKeyCache(ApiKeyLoader& loader) : loader_(loader) {}

  /// The current set, or null before the first successful load.
  [[nodiscard]] std::shared_ptr<const ApiKeySet> snapshot() const;

  /// Loads once and publishes the result on success; the load's error otherwise.
  [[nodiscard]] Result<void> refresh();

  /// `refresh` now and then every `interval` until `stop` is requested. Logs failures (once per
  /// outage) rather than returning them.
  void run(const std::stop_token& stop, std::chrono::milliseconds interval);

 private:
  ApiKeyLoader& loader_;
  mutable std::mutex mutex_;
  std::shared_ptr<const ApiKeySet> keys_;
  bool failing_ = false;
};

}  // namespace otp::intake::auth
