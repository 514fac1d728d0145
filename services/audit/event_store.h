#pragma once

#include "common/error/error.h"
#include "common/messages/messages.h"

#include <cstddef>
#include <span>

namespace otp::audit {

/// What one `EventStore::write` did.
struct WriteSummary {
  std::size_t inserted = 0;       ///< events new to the store (the rest were already there)
  std::size_t verifications = 0;  ///< projection rows created or changed
};

/// The audit trail's storage seam: `AuditStage` writes through it, `PgEventStore` implements it
/// on PostgreSQL, unit tests substitute a recording fake.
///
/// `write` is atomic and idempotent: all events of the batch are stored, or none; an event
/// whose id is already stored is skipped, and only newly stored events change the
/// `verifications` projection, so writing the same batch twice changes nothing the second time.
/// Events may come in any order. Implementations need not be thread-safe.
class EventStore {
 public:
  virtual ~EventStore() = default;
  [[nodiscard]] virtual Result<WriteSummary> write(std::span<const messages::Event> events) = 0;
};

}  // namespace otp::audit
