#include "services/intake/compat/verify_by_recipient.h"

#include "common/messages/messages.h"

namespace otp::intake::compat {

kafka::OutboundRecord verify_by_recipient_record(const messages::Topics& topics,
                                                 const crypto::Sealer& sealer, Rng& rng,
                                                 const Clock& clock, const std::string& tenant,
                                                 const std::string& recipient,
                                                 const std::string& code,
                                                 std::chrono::milliseconds reply_timeout) {
  const auto now = clock.now();
  messages::VerifyRequested message{.request_id = new_uuid(rng),
                                    .tenant = tenant,
                                    .verification_id = "",
                                    .recipient = recipient,
                                    .sealed_code = sealer.seal(code, recipient),
                                    .otp_code = std::nullopt,
                                    .requested_at = now,
                                    .respond_by = now + reply_timeout};
  return kafka::OutboundRecord{.topic = topics.verify_requests,
                               .key = tenant + ":" + recipient,
                               .value = messages::encode(message),
                               .headers = {},
                               .partition = std::nullopt};
}

}  // namespace otp::intake::compat
