#pragma once

#include "common/crypto/sealer.h"
#include "common/messages/topics.h"
#include "common/random/rng.h"
#include "common/time/clock.h"
#include "services/intake/api_response.h"
#include "services/intake/authenticator.h"
#include "services/intake/http_message.h"
#include "services/intake/request_publisher.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace otp::intake {

/// A verify request that passed validation. `otp_code` is the clear code: it lives only in
/// memory until it is sealed, and never reaches a log line or Kafka in clear.
struct VerifyRequest {
  std::string appid;
  std::string verification_id;
  std::string otp_code;
  std::optional<std::string> recipient;  ///< accepted and type-checked; not forwarded
};

/// Decodes and validates a `POST /otp/verify` body for `tenant`: `appid` a string (400) naming
/// the tenant (403 `forbidden`); `verification_id` a string of the form `otp_` + 32 lowercase
/// hex digits (400 `invalid_request`: a malformed id is a bad request, not an unknown one);
/// `otp_code` a string of 4 to 10 ASCII digits (400 `invalid_request`); optional `recipient` a
/// string. Other fields are ignored. Pure.
[[nodiscard]] ApiResult<VerifyRequest> decode_verify_request(const nlohmann::json& body,
                                                             const Tenant& tenant);

/// `POST /otp/verify`: decode -> validate -> publish a VerifyRequested with the code sealed
/// (AES-256-GCM, AAD = verification id) -> answer from the reply (see `verify_response`).
/// Publishes to `<prefix>verify-requests` keyed by verification id. Holds references to its
/// collaborators; thread-safe if they are.
class VerifyHandler {
 public:
  VerifyHandler(RequestPublisher& publisher, const crypto::Sealer& sealer, Rng& rng,
                const Clock& clock, const messages::Topics& topics,
                std::chrono::milliseconds reply_timeout);

  /// Calls `respond` exactly once: at once for invalid requests, later for published ones.
  void handle(const Tenant& tenant, const nlohmann::json& body, ResponseCallback respond);

 private:
  RequestPublisher& publisher_;
  const crypto::Sealer& sealer_;
  Rng& rng_;
  const Clock& clock_;
  const messages::Topics& topics_;
  std::chrono::milliseconds reply_timeout_;
};

}  // namespace otp::intake
