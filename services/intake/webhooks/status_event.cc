#include "services/intake/webhooks/status_event.h"

#include "common/crypto/digest.h"
#include "common/messages/messages.h"

namespace otp::intake::webhooks {

kafka::OutboundRecord delivery_status_record(const messages::Topics& topics,
                                             const DeliveryStatus& status, TimePoint now) {
  nlohmann::json data = {{"provider", status.provider},
                         {"provider_message_id", status.provider_message_id},
                         {"status", status.status}};
  if (!status.error_code.empty()) data["error_code"] = status.error_code;
  messages::Event event{.id = crypto::derived_uuid("delivery.status|" + status.provider + "|" +
                                                   status.provider_message_id + "|" +
                                                   status.status + "|" + status.error_code),
                        .type = "delivery.status",
                        .source = "otp-intake",
                        .time = status.reported_at.value_or(now),
                        .tenant = kProviderTenant,
                        .verification_id = kUnknownVerificationId,
                        .data = std::move(data)};
  return kafka::OutboundRecord{.topic = topics.events,
                               .key = status.provider + ":" + status.provider_message_id,
                               .value = messages::encode(event),
                               .headers = {},
                               .partition = std::nullopt};
}

}  // namespace otp::intake::webhooks
