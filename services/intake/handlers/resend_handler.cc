#include "services/intake/handlers/resend_handler.h"

#include "services/intake/handlers/reply_mapping.h"
#include "services/intake/idempotency.h"

namespace otp::intake {

void ResendHandler::handle(const Tenant& tenant, const nlohmann::json& body,
                           const std::optional<std::string>& idempotency_key, bool respond_async,
                           ResponseCallback respond) {
  auto verification_id = decode_action_body(body, tenant);
  if (!verification_id) {
    respond(error_response(verification_id.error()));
    return;
  }
  std::optional<std::string> request_id;
  if (idempotency_key) {
    request_id = action_request_id_for_key(tenant.id, "resend", *verification_id, *idempotency_key);
  }
  ActionContext context{.tenant = tenant.id, .verification_id = *verification_id};
  if (respond_async) {
    actions_.publish_only(
        messages::SendAction::kResend, tenant, *verification_id, std::move(request_id),
        [context = std::move(context), respond = std::move(respond)](
            const Result<void>& published) { respond(resend_async_response(context, published)); });
    return;
  }
  actions_.publish(messages::SendAction::kResend, tenant, *verification_id, std::move(request_id),
                   [context = std::move(context), respond = std::move(respond)](
                       const ReplyResult& result) { respond(resend_response(context, result)); });
}

}  // namespace otp::intake
