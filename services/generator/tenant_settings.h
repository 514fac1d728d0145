#pragma once

#include "common/error/error.h"
#include "common/messages/types.h"
#include "common/time/clock.h"

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace otp::generator {

/// How a resend treats the code already sent.
enum class ResendPolicy {
  kNew,   ///< a new code is drawn and the old one revoked
  kSame,  ///< the same (sealed) code is sent again
};

/// One tenant's OTP rules: a row of the PostgreSQL `tenants` table (schemas/sql/0004). The
/// defaults here are the column defaults, so a tenant nobody configured behaves like this.
struct TenantSettings {
  int code_length = 6;            ///< 4..10 digits
  std::chrono::seconds ttl{600};  ///< 60 s .. 24 h
  int max_attempts = 5;           ///< checks per code, 1..10
  ResendPolicy resend_policy = ResendPolicy::kNew;
  std::chrono::seconds resend_cooldown{30};
  int sends_per_destination = 5;  ///< codes per recipient per `send_window`
  std::chrono::seconds send_window{600};
  int failure_lock_threshold = 100;  ///< consecutive failed checks before a lock
  std::set<messages::Channel> allowed_channels{messages::Channel::kSms, messages::Channel::kEmail,
                                               messages::Channel::kWhatsapp};
  /// ISO 3166-1 alpha-2 regions phone recipients may be in; nullopt = every country.
  std::optional<std::set<std::string>> allowed_countries{};
  /// E.164 number -> its fixed code. Codes for these numbers are stored, never delivered.
  std::map<std::string, std::string> test_numbers{};
  double send_rate_per_second = 50;  ///< token bucket refill over all the tenant's sends
  int send_burst = 100;              ///< token bucket capacity
  /// Channels to fall back to, in order, when delivery on the requested one fails for good
  /// (schemas/sql/0008). Delivery jobs carry the ones that fit the recipient and are allowed.
  std::vector<messages::Channel> channel_fallback{};
  /// A fixed lock after `failure_lock_threshold` failures; nullopt: 60 s doubling per lock.
  std::optional<std::chrono::seconds> failure_lock_duration{};

  [[nodiscard]] bool allows(messages::Channel channel) const {
    return allowed_channels.contains(channel);
  }
  /// Whether a phone recipient in `region` (libphonenumber's region code, empty if unknown) may
  /// get a code. An unknown region passes only when every country is allowed.
  [[nodiscard]] bool allows_region(const std::string& region) const {
    return !allowed_countries || allowed_countries->contains(region);
  }
  /// The fixed code of a test number, or nullptr.
  [[nodiscard]] const std::string* test_code(const std::string& recipient) const {
    auto it = test_numbers.find(recipient);
    return it == test_numbers.end() ? nullptr : &it->second;
  }
  bool operator==(const TenantSettings&) const = default;
};

using TenantSettingsMap = std::map<std::string, TenantSettings>;

/// Where the generator finds a tenant's rules: the seam between the stage and PostgreSQL.
/// Implementations need not be thread-safe (one per consumer thread, like the CodeStore).
class TenantSettingsSource {
 public:
  virtual ~TenantSettingsSource() = default;
  /// The tenant's settings; nullopt for an unknown tenant; kUnavailable when they cannot be
  /// known (the database was never reachable), which the runner retries.
  [[nodiscard]] virtual Result<std::optional<TenantSettings>> find(const std::string& tenant) = 0;
};

/// Every tenant is known and gets the same settings. For deployments without PostgreSQL
/// (`OTP_TENANT_SETTINGS=env`): the rules come from the OTP_CODE_* environment defaults.
class StaticTenantSettings final : public TenantSettingsSource {
 public:
  explicit StaticTenantSettings(TenantSettings settings) : settings_(std::move(settings)) {}
  [[nodiscard]] Result<std::optional<TenantSettings>> find(const std::string& tenant) override;

 private:
  TenantSettings settings_;
};

/// A cache over a loader that reads every tenant at once (`PgTenantSettingsLoader::load_all`).
///
/// `find` reloads when the last load attempt is older than `refresh`, so a change in the table
/// applies within `refresh` without a restart. A failed reload keeps the last good settings
/// (logged as a warning) and is not retried before another `refresh` has passed, so an outage
/// costs one failed load per interval, not one per record. Before the first successful load
/// `find` answers the loader's error (kUnavailable: the runner retries; nothing is issued with
/// guessed rules).
///
/// Holds the clock by reference; it must outlive the cache. Not thread-safe.
class CachedTenantSettings final : public TenantSettingsSource {
 public:
  using Loader = std::function<Result<TenantSettingsMap>()>;

  CachedTenantSettings(Loader loader, const Clock& clock, std::chrono::milliseconds refresh);

  [[nodiscard]] Result<std::optional<TenantSettings>> find(const std::string& tenant) override;

 private:
  Loader loader_;
  const Clock& clock_;
  std::chrono::milliseconds refresh_;
  std::optional<TenantSettingsMap> tenants_;
  std::optional<TimePoint> last_attempt_;
  Error last_error_{Errc::kUnavailable, "tenant settings not loaded yet"};
};

}  // namespace otp::generator
