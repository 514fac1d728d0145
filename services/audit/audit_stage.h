#pragma once

#include "common/error/error.h"
#include "common/kafka/record.h"
#include "common/messages/messages.h"
#include "services/audit/event_store.h"

#include <span>

namespace otp::audit {

/// The audit writer's logic, a `kafka::BatchStage`: `decode` turns an events-topic record into
/// a `messages::Event` and refuses (kInvalidInput, so the runner dead-letters it) anything that
/// is not a valid event or that could carry a code; `write` stores a batch through the
/// `EventStore` in one transaction. `BatchRunner` stores offsets only after `write` succeeded.
///
/// Borrows the store, which must outlive it. Single-threaded, like the runner.
class AuditStage {
 public:
  using Input = messages::Event;

  explicit AuditStage(EventStore& store) : store_(store) {}

  /// Strict: the envelope must decode (`messages::decode_event`), its time must lie within
  /// 1970..9999, and `data` must hold no key named like a code (`code`, `otp`, `otp_code`,
  /// `otp_code_sealed`, `sealed_code`) at any depth, no NUL character (PostgreSQL text cannot
  /// hold one) and no more than 16 levels of nesting: whatever the database would refuse is
  /// refused here, where it can be parked, rather than failing a whole batch again and again.
  [[nodiscard]] Result<messages::Event> decode(const kafka::Record& record) const;

  /// Stores `batch` (idempotent). A non-retryable failure is logged at error level: the runner
  /// retries every write failure, so the partition stalls until someone fixes the cause.
  [[nodiscard]] Result<void> write(std::span<const messages::Event> batch);

 private:
  EventStore& store_;
};

}  // namespace otp::audit
