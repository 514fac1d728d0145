#include "services/intake/handlers/cancel_handler.h"

#include "services/intake/handlers/reply_mapping.h"

namespace otp::intake {

void CancelHandler::handle(const Tenant& tenant, const nlohmann::json& body,
                           ResponseCallback respond) {
  auto verification_id = decode_action_body(body, tenant);
  if (!verification_id) {
    respond(error_response(verification_id.error()));
    return;
  }
  ActionContext context{.tenant = tenant.id, .verification_id = *verification_id};
  actions_.publish(messages::SendAction::kCancel, tenant, *verification_id, std::nullopt,
                   [context = std::move(context), respond = std::move(respond)](
                       const ReplyResult& result) { respond(cancel_response(context, result)); });
}

}  // namespace otp::intake
