#pragma once

#include "common/messages/messages.h"
#include "common/messages/topics.h"
#include "common/random/rng.h"
#include "common/time/clock.h"
#include "services/intake/api_response.h"
#include "services/intake/authenticator.h"
#include "services/intake/request_publisher.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace otp::intake {

/// The body of `POST /otp/resend` and `POST /otp/cancel`: `appid` (the tenant's, else 403) and
/// `verification_id` (`otp_` + 32 lowercase hex, else 400 `invalid_request`). Pure.
[[nodiscard]] ApiResult<std::string> decode_action_body(const nlohmann::json& body,
                                                        const Tenant& tenant);

/// `verification_id` from a raw query string (`verification_id=otp_...`, percent-decoding not
/// needed for a valid id): 400 `invalid_request` when missing, repeated or malformed. Pure.
[[nodiscard]] ApiResult<std::string> verification_id_from_query(std::string_view query);

/// Publishes the SendRequested for `action` on an existing verification: empty recipient (the
/// generator finds the verification by tenant and id, so another tenant's id is simply not
/// found), keyed `tenant:verification_id`, to `<prefix>send-requests`. `request_id` is random
/// unless the caller derived it from an Idempotency-Key.
class VerificationActions {
 public:
  VerificationActions(RequestPublisher& publisher, Rng& rng, const Clock& clock,
                      const messages::Topics& topics);

  void publish(messages::SendAction action, const Tenant& tenant,
               const std::string& verification_id, std::optional<std::string> request_id,
               ReplyCallback done);

  /// The same record through `RequestPublisher::publish_only`: no reply is asked for.
  void publish_only(messages::SendAction action, const Tenant& tenant,
                    const std::string& verification_id, std::optional<std::string> request_id,
                    PublishCallback done);

 private:
  [[nodiscard]] kafka::OutboundRecord record(messages::SendAction action, const Tenant& tenant,
                                             const std::string& verification_id,
                                             std::optional<std::string> request_id);

  RequestPublisher& publisher_;
  Rng& rng_;
  const Clock& clock_;
  const messages::Topics& topics_;
};

}  // namespace otp::intake
