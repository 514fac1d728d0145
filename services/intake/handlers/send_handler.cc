#include "services/intake/handlers/send_handler.h"

#include "common/messages/messages.h"
#include "services/intake/handlers/reply_mapping.h"
#include "services/intake/json_body.h"
#include "services/intake/recipient_validator.h"

#include <algorithm>
#include <cctype>

namespace otp::intake {
namespace {

constexpr std::size_t kMaxRecipientLength = 320;
constexpr std::size_t kMaxChannelLength = 16;
constexpr std::size_t kMaxFromLength = 64;
constexpr std::size_t kMaxLocaleLength = 35;

}  // namespace

bool is_locale_tag(std::string_view locale) noexcept {
  if (locale.empty() || locale.size() > kMaxLocaleLength) return false;
  std::size_t start = 0;
  bool first = true;
  while (start <= locale.size()) {
    auto end = locale.find('-', start);
    if (end == std::string_view::npos) end = locale.size();
    const auto subtag = locale.substr(start, end - start);
    const bool letters_only = std::all_of(subtag.begin(), subtag.end(), [](char c) {
      return std::isalpha(static_cast<unsigned char>(c)) != 0;
    });
    const bool alphanumeric = std::all_of(subtag.begin(), subtag.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) != 0;
    });
    if (first ? !(subtag.size() >= 2 && subtag.size() <= 3 && letters_only)
              : !(!subtag.empty() && subtag.size() <= 8 && alphanumeric)) {
      return false;
    }
    first = false;
    start = end + 1;
  }
  return true;
}

ApiResult<SendRequest> decode_send_request(const nlohmann::json& body, const Tenant& tenant) {
  if (auto own = require_own_appid(body, tenant.id); !own) return tl::unexpected(own.error());
  auto recipient = required_string(body, "recipient", kMaxRecipientLength);
  if (!recipient) return tl::unexpected(recipient.error());
  auto channel_name = required_string(body, "channel", kMaxChannelLength);
  if (!channel_name) return tl::unexpected(channel_name.error());
  auto from = optional_string(body, "from", kMaxFromLength);
  if (!from) return tl::unexpected(from.error());
  auto locale = optional_string(body, "locale", kMaxLocaleLength);
  if (!locale) return tl::unexpected(locale.error());

  auto channel = messages::parse_channel(*channel_name);
  if (!channel) {
    return tl::unexpected(ApiError{.status = 400,
                                   .code = "unsupported_channel",
                                   .message = "channel must be one of sms, email, whatsapp",
                                   .retry_after = std::nullopt});
  }
  auto normalized = normalize_recipient(*channel, *recipient);
  if (!normalized) {
    return tl::unexpected(ApiError{.status = 400,
                                   .code = "invalid_recipient",
                                   .message = normalized.error().message,
                                   .retry_after = std::nullopt});
  }
  if (*locale && !is_locale_tag(**locale)) {
    return tl::unexpected(
        invalid_request("locale must be a BCP 47 language tag such as en or pt-BR"));
  }
  return SendRequest{.appid = tenant.id,
                     .recipient = std::move(*normalized),
                     .channel = *channel,
                     .from = std::move(*from),
                     .locale = locale->value_or("")};
}

SendHandler::SendHandler(RequestPublisher& publisher, Rng& rng, const Clock& clock,
                         const messages::Topics& topics)
    : publisher_(publisher), rng_(rng), clock_(clock), topics_(topics) {}

void SendHandler::handle(const Tenant& tenant, const nlohmann::json& body,
                         ResponseCallback respond) {
  auto request = decode_send_request(body, tenant);
  if (!request) {
    respond(error_response(request.error()));
    return;
  }
  messages::SendRequested message;
  message.request_id = new_uuid(rng_);
  message.tenant = tenant.id;
  message.verification_id = new_verification_id(rng_);
  message.recipient = request->recipient;
  message.channel = request->channel;
  message.locale = request->locale;
  message.requested_at = clock_.now();
  message.sender = request->from.value_or("");
  kafka::OutboundRecord record{.topic = topics_.send_requests,
                               .key = tenant.id + ":" + message.recipient,
                               .value = messages::encode(message),
                               .headers = {},
                               .partition = std::nullopt};
  SendContext context{.tenant = tenant.id,
                      .verification_id = message.verification_id,
                      .channel = message.channel,
                      .recipient = message.recipient};
  publisher_.publish(std::move(record),
                     [context = std::move(context), respond = std::move(respond)](
                         const ReplyResult& result) { respond(send_response(context, result)); });
}

}  // namespace otp::intake
