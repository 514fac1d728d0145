#pragma once

#include "common/pg/pg_connection.h"
#include "services/audit/event_store.h"

namespace otp::audit {

/// The placeholders the intake's provider webhooks put on `delivery.status` events, whose tenant
/// and verification they cannot know (services/intake/webhooks/status_event.h). The store treats
/// such a receipt as unresolved and matches it to its verification by provider message id.
inline constexpr char kWebhookReceiptTenant[] = "_provider";
inline constexpr char kWebhookReceiptVerificationId[] = "otp_00000000000000000000000000000000";

/// `EventStore` on PostgreSQL (schemas/sql/0001, 0002, 0010_audit_ingest, 0012_audit_fast_ingest):
/// per batch, one transaction with one statement, `otp_audit_write_batch(rows, months)`, which
/// creates the monthly partitions of `otp_events` the batch needs, claims the event ids in
/// `otp_event_ids` (ON CONFLICT (id) DO NOTHING), inserts only the claimed events into `otp_events`
/// and folds them into `verifications`. It is PL/pgSQL so that its statement is planned once per
/// connection. An id repeated within a batch is sent once (its first occurrence). A broken
/// connection is replaced transparently (see `pg::PgConnection`); other errors come back as values
/// for the runner to retry.
///
/// Borrows the connection, which must outlive it. Not thread-safe.
class PgEventStore final : public EventStore {
 public:
  explicit PgEventStore(pg::PgConnection& connection) : connection_(connection) {}

  [[nodiscard]] Result<WriteSummary> write(std::span<const messages::Event> events) override;

  /// Checks that the tables this store writes exist and are writable (migrations applied,
  /// right role): for start-up, so a misconfiguration fails fast instead of retrying forever.
  [[nodiscard]] Result<void> check_schema();

 private:
  pg::PgConnection& connection_;
};

}  // namespace otp::audit
