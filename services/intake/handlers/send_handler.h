#pragma once

#include "common/messages/topics.h"
#include "common/messages/types.h"
#include "common/random/rng.h"
#include "common/time/clock.h"
#include "services/intake/api_response.h"
#include "services/intake/authenticator.h"
#include "services/intake/http_message.h"
#include "services/intake/request_publisher.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace otp::intake {

/// A send request that passed validation.
struct SendRequest {
  std::string appid;
  std::string recipient;  ///< normalised: E.164, or the address with a lower-cased domain
  messages::Channel channel = messages::Channel::kSms;
  std::optional<std::string> from;  ///< accepted and checked; sender ids come with templates
  std::string locale;               ///< empty = the tenant's default
};

/// Decodes and validates a `POST /otp/send` body for `tenant`, in this order: `appid` must be a
/// string (400 `invalid_request`) naming the tenant (403 `forbidden`); `recipient` and `channel`
/// strings and optional `from` and `locale` strings (400 `invalid_request` naming the field);
/// `channel` one of sms, email, whatsapp (400 `unsupported_channel`); the recipient valid for
/// the channel (400 `invalid_recipient`); `locale` a BCP 47 tag (400 `invalid_request`). Other
/// fields are ignored. Pure.
[[nodiscard]] ApiResult<SendRequest> decode_send_request(const nlohmann::json& body,
                                                         const Tenant& tenant);

/// `POST /otp/send`: decode -> validate -> publish a SendRequested -> answer from the reply.
///
/// Generates the request id and the verification id, publishes to `<prefix>send-requests` keyed
/// `tenant:recipient` (per-recipient order), and answers through `respond` once the publisher
/// reports (see `send_response`). Holds references to its collaborators; thread-safe if they are.
class SendHandler {
 public:
  SendHandler(RequestPublisher& publisher, Rng& rng, const Clock& clock,
              const messages::Topics& topics);

  /// Calls `respond` exactly once: at once for invalid requests, later for published ones.
  void handle(const Tenant& tenant, const nlohmann::json& body, ResponseCallback respond);

 private:
  RequestPublisher& publisher_;
  Rng& rng_;
  const Clock& clock_;
  const messages::Topics& topics_;
};

/// Whether `locale` looks like a BCP 47 tag: 2-3 letters, then `-` subtags of 1-8 letters or
/// digits, 35 characters at most (`en`, `pt-BR`, `zh-Hant-TW`).
[[nodiscard]] bool is_locale_tag(std::string_view locale) noexcept;

}  // namespace otp::intake
