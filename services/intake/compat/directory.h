#pragma once

#include "common/error/error.h"

#include <functional>
#include <optional>
#include <string>

namespace otp::intake::compat {

/// What the seed-000 directory knows about one mobile number of a tenant.
struct DirectoryEntry {
  std::string email;
  /// The tenant shows the address in clear in replies (tenants.reveal_contacts).
  bool reveal_contacts = false;
};

/// The entry, nullopt when the mobile number is not registered, or an error (kUnavailable: the
/// store cannot be asked right now).
using DirectoryResult = Result<std::optional<DirectoryEntry>>;
using DirectoryCallback = std::function<void(const DirectoryResult& result)>;

/// The seed-000 user directory (mobile number -> email), per tenant. The seam between the
/// compat handlers and PostgreSQL; tests substitute a map.
///
/// `find` never blocks the caller (it runs on an HTTP io thread) and calls `done` exactly once,
/// possibly on another thread. Implementations are thread-safe.
class Directory {
 public:
  virtual ~Directory() = default;
  virtual void find(const std::string& tenant, const std::string& mobile,
                    DirectoryCallback done) = 0;
};

/// The directory when none is configured (no OTP_PG_URL): every look-up is kUnavailable.
class NoDirectory final : public Directory {
 public:
  void find(const std::string& /*tenant*/, const std::string& /*mobile*/,
            DirectoryCallback done) override {
    done(fail(Errc::kUnavailable, "no directory configured (OTP_PG_URL)"));
  }
};

}  // namespace otp::intake::compat
