#include "services/intake/handlers/send_handler.h"

#include "common/messages/messages.h"
#include "services/intake/handlers/reply_mapping.h"
#include "services/intake/idempotency.h"
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
constexpr std::size_t kMaxTemplateLength = 64;
constexpr std::size_t kMaxPurposeLength = 64;
constexpr std::size_t kAppHashLength = 11;
constexpr std::size_t kMaxMetadataKeys = 16;
constexpr std::size_t kMaxMetadataKeyLength = 40;
constexpr std::size_t kMaxMetadataValueLength = 256;
constexpr int kMinCodeLength = 4;
constexpr int kMaxCodeLength = 10;
constexpr int kMinTtlSeconds = 30;
constexpr int kMaxTtlSeconds = 86'400;

bool all_of(std::string_view text, bool (*allowed)(char)) {
  return std::all_of(text.begin(), text.end(), allowed);
}

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' || c == '.';
}

bool is_base64_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '/';
}

// No control characters (C0, DEL); `from` ends up in message headers and SMS sender fields.
bool is_printable(std::string_view text) {
  return std::none_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
}

ApiResult<nlohmann::json> decode_metadata(const nlohmann::json& body) {
  auto it = body.find("metadata");
  if (it == body.end() || it->is_null()) return nlohmann::json();
  // Over the underlying map, with the null check spelled out: g++ 12 -O2 reports a false
  // -Wnull-dereference inside nlohmann's own iteration and get_ref paths.
  const auto* object = it->get_ptr<const nlohmann::json::object_t*>();
  if (object == nullptr) return tl::unexpected(invalid_request("metadata must be a JSON object"));
  if (object->size() > kMaxMetadataKeys) {
    return tl::unexpected(
        invalid_request("metadata may have at most " + std::to_string(kMaxMetadataKeys) + " keys"));
  }
  for (const auto& [key, value] : *object) {
    if (key.empty() || key.size() > kMaxMetadataKeyLength || !all_of(key, is_name_char)) {
      return tl::unexpected(
          invalid_request("metadata keys must be 1 to 40 letters, digits, '_', '-' or '.'"));
    }
    const bool scalar = value.is_boolean() || value.is_number() ||
                        (value.is_string() &&
                         value.get_ref<const std::string&>().size() <= kMaxMetadataValueLength);
    if (!scalar) {
      return tl::unexpected(invalid_request(
          "metadata values must be strings of at most 256 bytes, numbers or booleans"));
    }
  }
  return *it;
}

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
  auto template_name = optional_string(body, "template", kMaxTemplateLength);
  if (!template_name) return tl::unexpected(template_name.error());
  auto app_hash = optional_string(body, "app_hash", kAppHashLength);
  if (!app_hash) return tl::unexpected(app_hash.error());
  auto code_length = optional_integer(body, "code_length", kMinCodeLength, kMaxCodeLength);
  if (!code_length) return tl::unexpected(code_length.error());
  auto ttl = optional_integer(body, "ttl", kMinTtlSeconds, kMaxTtlSeconds);
  if (!ttl) return tl::unexpected(ttl.error());
  auto purpose = optional_string(body, "purpose", kMaxPurposeLength);
  if (!purpose) return tl::unexpected(purpose.error());
  auto metadata = decode_metadata(body);
  if (!metadata) return tl::unexpected(metadata.error());
  if (*from && !is_printable(**from)) {
    return tl::unexpected(invalid_request("from must not contain control characters"));
  }
  if (*template_name && !all_of(**template_name, is_name_char)) {
    return tl::unexpected(invalid_request("template must be letters, digits, '_', '-' or '.'"));
  }
  if (*app_hash && ((*app_hash)->size() != kAppHashLength || !all_of(**app_hash, is_base64_char))) {
    return tl::unexpected(invalid_request("app_hash must be 11 base64 characters"));
  }
  if (*purpose && !all_of(**purpose, is_name_char)) {
    return tl::unexpected(invalid_request("purpose must be letters, digits, '_', '-' or '.'"));
  }

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
  return SendRequest{
      .appid = tenant.id,
      .recipient = std::move(*normalized),
      .channel = *channel,
      .from = std::move(*from),
      .locale = locale->value_or(""),
      .template_name = template_name->value_or(""),
      .app_hash = app_hash->value_or(""),
      .code_length = code_length->has_value() ? std::optional<int>(static_cast<int>(**code_length))
                                              : std::nullopt,
      .ttl_seconds = ttl->has_value() ? std::optional<int>(static_cast<int>(**ttl)) : std::nullopt,
      .purpose = purpose->value_or(""),
      .metadata = std::move(*metadata)};
}

SendHandler::SendHandler(RequestPublisher& publisher, Rng& rng, const Clock& clock,
                         const messages::Topics& topics)
    : publisher_(publisher), rng_(rng), clock_(clock), topics_(topics) {}

void SendHandler::handle(const Tenant& tenant, const nlohmann::json& body,
                         const SendOptions& options, ResponseCallback respond) {
  auto request = decode_send_request(body, tenant);
  if (!request) {
    respond(error_response(request.error()));
    return;
  }
  messages::SendRequested message;
  if (options.idempotency_key) {
    auto ids = send_ids_for_key(tenant.id, *options.idempotency_key);
    message.request_id = std::move(ids.request_id);
    message.verification_id = std::move(ids.verification_id);
  } else {
    message.request_id = new_uuid(rng_);
    message.verification_id = new_verification_id(rng_);
  }
  message.tenant = tenant.id;
  message.recipient = request->recipient;
  message.channel = request->channel;
  message.locale = request->locale;
  message.requested_at = clock_.now();
  message.sender = request->from.value_or("");
  message.template_name = request->template_name;
  message.app_hash = request->app_hash;
  message.code_length = request->code_length;
  message.ttl_seconds = request->ttl_seconds;
  message.purpose = request->purpose;
  message.metadata = request->metadata;
  kafka::OutboundRecord record{.topic = topics_.send_requests,
                               .key = tenant.id + ":" + message.recipient,
                               .value = messages::encode(message),
                               .headers = {},
                               .partition = std::nullopt};
  SendContext context{.tenant = tenant.id,
                      .verification_id = message.verification_id,
                      .channel = message.channel,
                      .recipient = message.recipient};
  if (options.respond_async) {
    publisher_.publish_only(
        std::move(record),
        [context = std::move(context), respond = std::move(respond)](
            const Result<void>& published) { respond(send_async_response(context, published)); });
    return;
  }
  publisher_.publish(std::move(record),
                     [context = std::move(context), respond = std::move(respond)](
                         const ReplyResult& result) { respond(send_response(context, result)); });
}

}  // namespace otp::intake
