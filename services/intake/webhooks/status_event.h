#pragma once

#include "common/kafka/record.h"
#include "common/messages/topics.h"
#include "common/time/clock.h"

#include <optional>
#include <string>

namespace otp::intake::webhooks {

/// The tenant of a delivery.status event: the intake cannot know it (a provider names its
/// message only by its own id). otp-audit joins the receipt to the verification through
/// (provider, provider_message_id), which delivery.sent recorded.
inline constexpr char kProviderTenant[] = "_provider";
/// The verification id of a delivery.status event, for the same reason (the schema requires
/// one; this one is never issued: issued ids are random).
inline constexpr char kUnknownVerificationId[] = "otp_00000000000000000000000000000000";

/// One provider delivery receipt, as a webhook reports it.
struct DeliveryStatus {
  std::string provider;             ///< `twilio`, `twilio-whatsapp`, `meta`
  std::string provider_message_id;  ///< Twilio MessageSid, Meta wamid
  std::string status;      ///< the provider's word, lower-cased: delivered, failed, read...
  std::string error_code;  ///< empty when none
  std::optional<TimePoint> reported_at;  ///< the provider's timestamp, if it sends one
};

/// The `delivery.status` event on `<prefix>events` (common/messages Event): data `provider`,
/// `provider_message_id`, `status`, `error_code` (when set); never a phone number. The id is
/// derived from provider + message id + status (+ error code), so a replayed webhook makes the
/// same event and the audit trail keeps it once. Keyed by the provider message id. `now`
/// stands in for a missing provider timestamp.
[[nodiscard]] kafka::OutboundRecord delivery_status_record(const messages::Topics& topics,
                                                           const DeliveryStatus& status,
                                                           TimePoint now);

}  // namespace otp::intake::webhooks
