#pragma once

#include "common/kafka/producer.h"
#include "common/messages/topics.h"
#include "common/time/clock.h"
#include "services/intake/api_router.h"
#include "services/intake/http_message.h"
#include "services/intake/webhooks/status_event.h"
#include "services/intake/webhooks/webhook_config.h"

#include <vector>

namespace otp::intake::webhooks {

/// Provider delivery-status webhooks (docs/http-api.md, "Webhooks"): verify the provider's
/// signature over the request exactly as received, turn each receipt into a `delivery.status`
/// event, publish, and answer once Kafka acknowledged every event.
///
///   - `POST /webhooks/twilio/status` (form body; X-Twilio-Signature);
///   - `POST /webhooks/meta` (JSON; X-Hub-Signature-256) and `GET /webhooks/meta` (the
///     subscription handshake: echoes `hub.challenge` when `hub.verify_token` matches).
///
/// A missing or wrong signature -> 403 `forbidden`, nothing published. A malformed signed body
/// -> 400 `invalid_request`. Kafka refused or did not acknowledge -> 503 (the provider retries;
/// the replay makes the same event ids). Holds references; thread-safe if the producer is.
class WebhookHandler {
 public:
  WebhookHandler(kafka::Producer& producer, const Clock& clock, const messages::Topics& topics,
                 const WebhookConfig& config);

  void twilio_status(const HttpRequest& request, ResponseCallback respond);
  void meta_status(const HttpRequest& request, ResponseCallback respond);
  void meta_handshake(const HttpRequest& request, ResponseCallback respond) const;

 private:
  void publish_all(const std::vector<DeliveryStatus>& statuses, ResponseCallback respond);

  kafka::Producer& producer_;
  const Clock& clock_;
  const messages::Topics& topics_;
  const WebhookConfig& config_;
};

/// The receipts in a Meta webhook body (`entry[].changes[].value.statuses[]`): id, status,
/// timestamp (Unix seconds), errors[0].code. Other notifications (messages) give none.
/// kInvalidInput when the body is not the documented shape. Pure.
[[nodiscard]] Result<std::vector<DeliveryStatus>> parse_meta_statuses(std::string_view body);

/// Registers the routes of the providers that are configured (Twilio: auth token and public
/// base URL; Meta: app secret): the others stay unknown (404). `handler` must outlive `router`.
void add_webhook_routes(ApiRouter& router, WebhookHandler& handler, const WebhookConfig& config);

}  // namespace otp::intake::webhooks
