#pragma once

#include "services/intake/authenticator.h"
#include "services/intake/handlers/verification_action.h"
#include "services/intake/http_message.h"

#include <nlohmann/json.hpp>

namespace otp::intake {

/// `POST /otp/cancel {"appid", "verification_id"}`: cancels a pending verification; its code
/// stops working. Answers as `cancel_response` (reply_mapping.h).
class CancelHandler {
 public:
  explicit CancelHandler(VerificationActions& actions) : actions_(actions) {}

  void handle(const Tenant& tenant, const nlohmann::json& body, ResponseCallback respond);

 private:
  VerificationActions& actions_;
};

}  // namespace otp::intake
