#pragma once

#include "services/intake/authenticator.h"
#include "services/intake/handlers/verification_action.h"
#include "services/intake/http_message.h"

#include <string_view>

namespace otp::intake {

/// `GET /otp/status?verification_id=otp_...` (scope read): the live state of a verification
/// from the generator. Another tenant's id is answered exactly like an unknown one (404). Answers
/// as `status_response` (reply_mapping.h).
class StatusHandler {
 public:
  explicit StatusHandler(VerificationActions& actions) : actions_(actions) {}

  void handle(const Tenant& tenant, std::string_view query, ResponseCallback respond);

 private:
  VerificationActions& actions_;
};

}  // namespace otp::intake
