#pragma once

// Shared fixtures for the intake's auth unit tests: a key ring for tokens and an in-memory key
// loader.

#include "common/crypto/key_ring.h"
#include "common/error/check.h"
#include "services/intake/auth/api_key_cache.h"

#include <mutex>
#include <vector>

namespace otp::intake::auth::testing {

// Two 32-byte keys: "new" signs, "old" still verifies.
inline constexpr char kJwtKeys[] =
    "new:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=,"
    "old:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

inline crypto::KeyRing jwt_ring(const char* spec = kJwtKeys) {
  auto ring = crypto::KeyRing::parse(spec);
  OTP_CHECK(ring.has_value());
  return *ring;
}

/// A loader whose rows and availability the test sets.
class FakeKeyLoader final : public ApiKeyLoader {
 public:
  Result<std::vector<ApiKeyRecord>> load_active() override {
    const std::lock_guard lock(mutex_);
    if (!available_) return fail(Errc::kUnavailable, "database down");
    return records_;
  }
  void set(std::vector<ApiKeyRecord> records) {
    const std::lock_guard lock(mutex_);
    records_ = std::move(records);
  }
  void set_available(bool available) {
    const std::lock_guard lock(mutex_);
    available_ = available;
  }

 private:
  std::mutex mutex_;
  std::vector<ApiKeyRecord> records_;
  bool available_ = true;
};

}  // namespace otp::intake::auth::testing
