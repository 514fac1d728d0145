#pragma once

#include "services/intake/authenticator.h"
#include "services/intake/handlers/verification_action.h"
#include "services/intake/http_message.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace otp::intake {

/// `POST /otp/resend {"appid", "verification_id"}`: asks the generator to deliver the pending
/// verification again (the tenant's resend policy and limits apply there). Answers as
/// `resend_response` (reply_mapping.h). With an Idempotency-Key the request id derives from
/// (tenant, verification id, key), so a replayed resend sends nothing twice.
class ResendHandler {
 public:
  explicit ResendHandler(VerificationActions& actions) : actions_(actions) {}

  /// `respond_async` (`Prefer: respond-async`): 202 once Kafka acknowledged the request
  /// (`resend_async_response`), nothing waits for the generator.
  void handle(const Tenant& tenant, const nlohmann::json& body,
              const std::optional<std::string>& idempotency_key, bool respond_async,
              ResponseCallback respond);
  void handle(const Tenant& tenant, const nlohmann::json& body,
              const std::optional<std::string>& idempotency_key, ResponseCallback respond) {
    handle(tenant, body, idempotency_key, false, std::move(respond));
  }

 private:
  VerificationActions& actions_;
};

}  // namespace otp::intake
