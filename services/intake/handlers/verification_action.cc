#include "services/intake/handlers/verification_action.h"

#include "services/intake/json_body.h"

namespace otp::intake {
namespace {

constexpr std::size_t kMaxIdLength = 64;

ApiError malformed_id() {
  return invalid_request("verification_id must be otp_ followed by 32 lowercase hex digits");
}

}  // namespace

ApiResult<std::string> decode_action_body(const nlohmann::json& body, const Tenant& tenant) {
  if (auto own = require_own_appid(body, tenant.id); !own) return tl::unexpected(own.error());
  auto verification_id = required_string(body, "verification_id", kMaxIdLength);
  if (!verification_id) return tl::unexpected(verification_id.error());
  if (!is_verification_id(*verification_id)) return tl::unexpected(malformed_id());
  return std::move(*verification_id);
}

ApiResult<std::string> verification_id_from_query(std::string_view query) {
  std::optional<std::string_view> found;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) != "verification_id") continue;
    if (found) return tl::unexpected(invalid_request("verification_id is given more than once"));
    found = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
  }
  if (!found || found->empty())
    return tl::unexpected(invalid_request("verification_id is required"));
  if (!is_verification_id(*found)) return tl::unexpected(malformed_id());
  return std::string(*found);
}

VerificationActions::VerificationActions(RequestPublisher& publisher, Rng& rng, const Clock& clock,
                                         const messages::Topics& topics)
    : publisher_(publisher), rng_(rng), clock_(clock), topics_(topics) {}

kafka::OutboundRecord VerificationActions::record(messages::SendAction action, const Tenant& tenant,
                                                  const std::string& verification_id,
                                                  std::optional<std::string> request_id) {
  messages::SendRequested message;
  message.request_id = request_id ? std::move(*request_id) : new_uuid(rng_);
  message.tenant = tenant.id;
  message.verification_id = verification_id;
  message.action = action;
  message.requested_at = clock_.now();
  return kafka::OutboundRecord{.topic = topics_.send_requests,
                               .key = tenant.id + ":" + verification_id,
                               .value = messages::encode(message),
                               .headers = {},
                               .partition = std::nullopt};
}

void VerificationActions::publish(messages::SendAction action, const Tenant& tenant,
                                  const std::string& verification_id,
                                  std::optional<std::string> request_id, ReplyCallback done) {
  publisher_.publish(record(action, tenant, verification_id, std::move(request_id)),
                     std::move(done));
}

void VerificationActions::publish_only(messages::SendAction action, const Tenant& tenant,
                                       const std::string& verification_id,
                                       std::optional<std::string> request_id,
                                       PublishCallback done) {
  publisher_.publish_only(record(action, tenant, verification_id, std::move(request_id)),
                          std::move(done));
}

}  // namespace otp::intake
