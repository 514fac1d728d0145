#include "services/intake/handlers/status_handler.h"

#include "services/intake/handlers/reply_mapping.h"

namespace otp::intake {

void StatusHandler::handle(const Tenant& tenant, std::string_view query, ResponseCallback respond) {
  auto verification_id = verification_id_from_query(query);
  if (!verification_id) {
    respond(error_response(verification_id.error()));
    return;
  }
  ActionContext context{.tenant = tenant.id, .verification_id = *verification_id};
  actions_.publish(messages::SendAction::kStatus, tenant, *verification_id, std::nullopt,
                   [context = std::move(context), respond = std::move(respond)](
                       const ReplyResult& result) { respond(status_response(context, result)); });
}

}  // namespace otp::intake
