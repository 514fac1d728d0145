#include "services/intake/handlers/verify_handler.h"

#include "common/messages/messages.h"
#include "services/intake/handlers/reply_mapping.h"
#include "services/intake/json_body.h"

#include <algorithm>

namespace otp::intake {
namespace {

constexpr std::size_t kMaxIdLength = 64;
constexpr std::size_t kMinCodeLength = 4;
constexpr std::size_t kMaxCodeLength = 10;
constexpr std::size_t kMaxRecipientLength = 320;

bool is_code(std::string_view code) {
  return code.size() >= kMinCodeLength && code.size() <= kMaxCodeLength &&
         std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

ApiResult<VerifyRequest> decode_verify_request(const nlohmann::json& body, const Tenant& tenant) {
  if (auto own = require_own_appid(body, tenant.id); !own) return tl::unexpected(own.error());
  auto verification_id = required_string(body, "verification_id", kMaxIdLength);
  if (!verification_id) return tl::unexpected(verification_id.error());
  // The code may be any length in the body; its value is never echoed back.
  auto code = required_string(body, "otp_code", kMaxIdLength);
  if (!code) return tl::unexpected(code.error());
  auto recipient = optional_string(body, "recipient", kMaxRecipientLength);
  if (!recipient) return tl::unexpected(recipient.error());
  if (!is_verification_id(*verification_id)) {
    return tl::unexpected(
        invalid_request("verification_id must be otp_ followed by 32 lowercase hex digits"));
  }
  if (!is_code(*code)) return tl::unexpected(invalid_request("otp_code must be 4 to 10 digits"));
  return VerifyRequest{.appid = tenant.id,
                       .verification_id = std::move(*verification_id),
                       .otp_code = std::move(*code),
                       .recipient = std::move(*recipient)};
}

VerifyHandler::VerifyHandler(RequestPublisher& publisher, const crypto::Sealer& sealer, Rng& rng,
                             const Clock& clock, const messages::Topics& topics,
                             std::chrono::milliseconds reply_timeout)
    : publisher_(publisher),
      sealer_(sealer),
      rng_(rng),
      clock_(clock),
      topics_(topics),
      reply_timeout_(reply_timeout) {}

void VerifyHandler::handle(const Tenant& tenant, const nlohmann::json& body,
                           ResponseCallback respond) {
  auto request = decode_verify_request(body, tenant);
  if (!request) {
    respond(error_response(request.error()));
    return;
  }
  auto now = clock_.now();
  messages::VerifyRequested message{
      .request_id = new_uuid(rng_),
      .tenant = tenant.id,
      .verification_id = request->verification_id,
      .sealed_code = sealer_.seal(request->otp_code, request->verification_id),
      .otp_code = std::nullopt,
      .requested_at = now,
      .respond_by = now + reply_timeout_};
  kafka::OutboundRecord record{.topic = topics_.verify_requests,
                               .key = message.verification_id,
                               .value = messages::encode(message),
                               .headers = {},
                               .partition = std::nullopt};
  VerifyContext context{.tenant = tenant.id, .verification_id = message.verification_id};
  publisher_.publish(std::move(record),
                     [context = std::move(context), respond = std::move(respond)](
                         const ReplyResult& result) { respond(verify_response(context, result)); });
}

}  // namespace otp::intake
