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
  std::optional<std::string> from;  ///< the sender name or id; SendRequested::sender
  std::string locale;               ///< empty = the tenant's default
  std::string template_name;        ///< `template`; empty = the built-in default
  std::string app_hash;             ///< Android SMS Retriever hash (11 characters) or empty
  // Per-request overrides of the tenant's defaults and audit data; SendRequested carries them.
  std::optional<int> code_length;  ///< 4-10
  std::optional<int> ttl_seconds;  ///< 30-86400
  std::string purpose;
  nlohmann::json metadata;  ///< null or a flat object
};

/// Decodes and validates a `POST /otp/send` body for `tenant`, in this order: `appid` must be a
/// string (400 `invalid_request`) naming the tenant (403 `forbidden`); `recipient` and `channel`
/// strings; the optional fields of docs/http-api.md (`from`, `locale`, `template`, `app_hash`,
/// `code_length`, `ttl`, `purpose`, `metadata`) of their type and shape (400 `invalid_request`
/// naming the field); `channel` one of sms, email, whatsapp (400 `unsupported_channel`); the
/// recipient valid for the channel (400 `invalid_recipient`). Other fields are ignored. Pure.
[[nodiscard]] ApiResult<SendRequest> decode_send_request(const nlohmann::json& body,
                                                         const Tenant& tenant);

/// How a send's client asked to be answered (request headers).
struct SendOptions {
  /// `Idempotency-Key`: the request and verification ids derive from (tenant, key).
  std::optional<std::string> idempotency_key;
  /// `Prefer: respond-async`: answer 202 as soon as Kafka acknowledged the request, without
  /// waiting for the generator (`send_async_response`).
  bool respond_async = false;
};

/// `POST /otp/send`: decode -> validate -> publish a SendRequested -> answer from the reply.
///
/// Generates the request id and the verification id, publishes to `<prefix>send-requests` keyed
/// `tenant:recipient` (per-recipient order), and answers through `respond` once the publisher
/// reports (see `send_response`). Holds references to its collaborators; thread-safe if they are.
class SendHandler {
 public:
  SendHandler(RequestPublisher& publisher, Rng& rng, const Clock& clock,
              const messages::Topics& topics);

  /// Calls `respond` exactly once: at once for invalid requests, later for published ones. With
  /// an `idempotency_key` the request and verification ids derive from (tenant, key) (see
  /// idempotency.h), so a replay is answered with the same verification. With `respond_async`
  /// the request is published without reply headers (the generator answers nobody) and answered
  /// from Kafka's acknowledgement.
  void handle(const Tenant& tenant, const nlohmann::json& body, const SendOptions& options,
              ResponseCallback respond);
  void handle(const Tenant& tenant, const nlohmann::json& body,
              const std::optional<std::string>& idempotency_key, ResponseCallback respond) {
    handle(tenant, body, SendOptions{.idempotency_key = idempotency_key}, std::move(respond));
  }
  void handle(const Tenant& tenant, const nlohmann::json& body, ResponseCallback respond) {
    handle(tenant, body, std::nullopt, std::move(respond));
  }

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
