#include "common/messages/messages.h"

#include "common/messages/json_writer.h"
#include "common/messages/reply_scanner.h"
#include "common/random/rng.h"

#include <algorithm>
#include <cctype>

namespace otp::messages {
namespace {

using nlohmann::json;

using detail::kMaxEnumLength;
using detail::kMaxIdLength;
using detail::kMaxTimeLength;
constexpr std::size_t kMaxRecipientLength = 320;

bool is_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == ':';
}

/// Reads the fields of one JSON object strictly, remembering the first problem.
class Fields {
 public:
  explicit Fields(const json& object) : object_(object) {}

  std::string string(const char* name, std::size_t max_length = kMaxIdLength) {
    const json* value = find(name);
    if (value == nullptr) return {};
    if (!value->is_string()) return reject(name, "must be a string"), std::string{};
    const auto& text = value->get_ref<const std::string&>();
    if (text.empty()) return reject(name, "must not be empty"), std::string{};
    if (text.size() > max_length) return reject(name, "is too long"), std::string{};
    return text;
  }

  std::optional<std::string> optional_string(const char* name,
                                             std::size_t max_length = kMaxIdLength) {
    if (!object_.contains(name) || object_.at(name).is_null()) return std::nullopt;
    return string(name, max_length);
  }

  std::string id(const char* name) {
    auto text = string(name);
    for (char c : text) {
      if (!is_id_char(c)) return reject(name, "has characters outside [A-Za-z0-9._:-]"), text;
    }
    return text;
  }

  /// Required; "" allowed (a reply to a request that found no verification, e.g. by recipient).
  std::string verification_id_or_empty(const char* name) {
    const json* value = find(name);
    if (value != nullptr && value->is_string() && value->get_ref<const std::string&>().empty()) {
      return {};
    }
    return verification_id(name);
  }

  std::string verification_id(const char* name) {
    auto text = string(name);
    if (!text.empty() && !is_verification_id(text)) reject(name, "is not a verification id");
    return text;
  }

  std::optional<std::int64_t> optional_integer(const char* name) {
    if (!object_.contains(name) || object_.at(name).is_null()) return std::nullopt;
    const auto& value = object_.at(name);
    if (!value.is_number_integer()) return reject(name, "must be an integer"), std::nullopt;
    return value.get<std::int64_t>();
  }

  int integer(const char* name, int min, int max) {
    const json* value = find(name);
    if (value == nullptr) return min;
    if (!value->is_number_integer()) return reject(name, "must be an integer"), min;
    auto number = value->get<std::int64_t>();
    if (number < min || number > max) return reject(name, "is out of range"), min;
    return static_cast<int>(number);
  }

  TimePoint time(const char* name) {
    auto text = string(name, kMaxTimeLength);
    if (text.empty()) return {};
    auto parsed = parse_rfc3339(text);
    if (!parsed) return reject(name, "is invalid: " + parsed.error().message), TimePoint{};
    return *parsed;
  }

  std::optional<TimePoint> optional_time(const char* name) {
    if (!object_.contains(name) || object_.at(name).is_null()) return std::nullopt;
    return time(name);
  }

  template <class Enum>
  Enum enumeration(const char* name, Result<Enum> (*parse)(std::string_view), Enum fallback) {
    auto text = string(name, kMaxEnumLength);
    if (text.empty()) return fallback;
    auto parsed = parse(text);
    if (!parsed) return reject(name, parsed.error().message), fallback;
    return *parsed;
  }

  crypto::Sealed sealed(const char* name) {
    const json* value = find(name);
    if (value == nullptr) return {};
    if (!value->is_object()) return reject(name, "must be an object"), crypto::Sealed{};
    Fields inner(*value);
    crypto::Sealed sealed{inner.id("key_id"), inner.string("data", 1024)};
    if (auto problem = inner.problem()) reject(name, *problem);
    return sealed;
  }

  void reject(const char* name, const std::string& reason) {
    if (!problem_) problem_ = std::string(name) + " " + reason;
  }

  [[nodiscard]] const std::optional<std::string>& problem() const { return problem_; }

 private:
  const json* find(const char* name) {
    auto it = object_.find(name);
    if (it == object_.end() || it->is_null()) {
      reject(name, "is required");
      return nullptr;
    }
    return &*it;
  }

  const json& object_;
  std::optional<std::string> problem_;
};

/// Checks that `object` is a JSON object of the current schema version, then lets `read` fill
/// the message from its fields (it may move values out of `object`).
template <class Message, class Read>
Result<Message> decode_object(json& object, const char* what, Read read) {
  if (!object.is_object()) {
    return fail(Errc::kInvalidInput, std::string(what) + ": not a JSON object");
  }
  auto version = object.find("schema_version");
  if (version == object.end() || !version->is_number_integer() ||
      version->get<std::int64_t>() != kSchemaVersion) {
    return fail(Errc::kInvalidInput,
                std::string(what) + ": schema_version must be " + std::to_string(kSchemaVersion));
  }
  Fields fields(object);
  Message message = read(fields, object);
  if (fields.problem()) {
    return fail(Errc::kInvalidInput, std::string(what) + ": " + *fields.problem());
  }
  return message;
}

/// Parses `payload`, then decodes it as `decode_object` does.
template <class Message, class Read>
Result<Message> decode_with(std::string_view payload, const char* what, Read read) {
  json object = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded()) return fail(Errc::kInvalidInput, std::string(what) + ": not JSON");
  return decode_object<Message>(object, what, read);
}

/// `{"data": ..., "key_id": ...}` as JSON text.
std::string sealed_text(const crypto::Sealed& sealed) {
  JsonObjectWriter out;
  out.string("data", sealed.data);
  out.string("key_id", sealed.key_id);
  return std::move(out).finish();
}

std::string_view to_string(RequestKind kind) {
  switch (kind) {
    case RequestKind::kSend:
      return "send";
    case RequestKind::kVerify:
      return "verify";
    case RequestKind::kResend:
      return "resend";
    case RequestKind::kCancel:
      return "cancel";
    case RequestKind::kStatus:
      return "status";
  }
  return "send";
}

constexpr std::size_t kMaxSenderLength = 64;
constexpr std::size_t kMaxTemplateNameLength = 64;
constexpr std::size_t kMaxAppHashLength = 16;
// Per-request overrides and audit data of a send: the intake's bounds (send_handler.cc).
constexpr std::int64_t kMinCodeLength = 4;
constexpr std::int64_t kMaxCodeLength = 10;
constexpr std::int64_t kMinTtlSeconds = 30;
constexpr std::int64_t kMaxTtlSeconds = 86'400;
constexpr std::size_t kMaxPurposeLength = 64;
constexpr std::size_t kMaxMetadataKeys = 16;
constexpr std::size_t kMaxMetadataKeyLength = 40;
constexpr std::size_t kMaxMetadataValueLength = 256;

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' || c == '.';
}

// A flat object: 1..40-character name keys; strings (<= 256 bytes), numbers or booleans.
bool is_flat_metadata(const json& value) {
  const auto* object = value.get_ptr<const json::object_t*>();
  if (object == nullptr || object->size() > kMaxMetadataKeys) return false;
  for (const auto& [key, item] : *object) {
    if (key.empty() || key.size() > kMaxMetadataKeyLength ||
        !std::all_of(key.begin(), key.end(), is_name_char)) {
      return false;
    }
    const auto* text = item.get_ptr<const std::string*>();
    const bool scalar = item.is_boolean() || item.is_number() ||
                        (text != nullptr && text->size() <= kMaxMetadataValueLength);
    if (!scalar) return false;
  }
  return true;
}

}  // namespace

std::string_view to_string(SendAction action) noexcept {
  switch (action) {
    case SendAction::kSend:
      return "send";
    case SendAction::kResend:
      return "resend";
    case SendAction::kCancel:
      return "cancel";
    case SendAction::kStatus:
      return "status";
  }
  return "send";
}

Result<SendAction> parse_send_action(std::string_view text) {
  if (text == "send") return SendAction::kSend;
  if (text == "resend") return SendAction::kResend;
  if (text == "cancel") return SendAction::kCancel;
  if (text == "status") return SendAction::kStatus;
  return fail(Errc::kInvalidInput, "is not send, resend, cancel or status");
}

std::string encode(const SendRequested& message) {
  // Members in ascending key order: see JsonObjectWriter.
  JsonObjectWriter out;
  // Absent means send: plain sends encode exactly as before the field existed.
  if (message.action != SendAction::kSend) out.string("action", to_string(message.action));
  if (!message.app_hash.empty()) out.string("app_hash", message.app_hash);
  out.string("channel", to_string(message.channel));
  if (message.code_length) out.integer("code_length", *message.code_length);
  if (!message.sender.empty()) out.string("from", message.sender);
  if (!message.locale.empty()) out.string("locale", message.locale);
  if (message.metadata.is_object()) out.raw("metadata", message.metadata.dump());
  if (!message.purpose.empty()) out.string("purpose", message.purpose);
  if (!message.recipient.empty()) out.string("recipient", message.recipient);
  out.string("request_id", message.request_id);
  out.string("requested_at", format_rfc3339(message.requested_at));
  out.integer("schema_version", kSchemaVersion);
  if (!message.template_name.empty()) out.string("template", message.template_name);
  out.string("tenant", message.tenant);
  if (message.ttl_seconds) out.integer("ttl_seconds", *message.ttl_seconds);
  if (!message.verification_id.empty()) out.string("verification_id", message.verification_id);
  return std::move(out).finish();
}

namespace {
SendRequested read_send_requested(Fields& fields, json& object) {
  SendRequested message;
  message.request_id = fields.id("request_id");
  message.tenant = fields.id("tenant");
  if (auto vid = fields.optional_string("verification_id")) {
    if (!is_verification_id(*vid)) fields.reject("verification_id", "is not a verification id");
    message.verification_id = *vid;
  }
  // Empty only for resend, cancel and status (checked below, once the action is known).
  message.recipient = fields.optional_string("recipient", kMaxRecipientLength).value_or("");
  message.channel = fields.enumeration("channel", &parse_channel, Channel::kSms);
  message.locale = fields.optional_string("locale", 35).value_or("");
  message.requested_at = fields.time("requested_at");
  if (auto action = fields.optional_string("action", 16)) {
    auto parsed = parse_send_action(*action);
    if (parsed) message.action = *parsed;
    if (!parsed) fields.reject("action", parsed.error().message);
  }
  if (message.action != SendAction::kSend && message.verification_id.empty() && !fields.problem()) {
    fields.reject("verification_id", "is required for resend, cancel and status");
  }
  if (message.action == SendAction::kSend && message.recipient.empty() && !fields.problem()) {
    fields.reject("recipient", "is required");
  }
  message.sender = fields.optional_string("from", kMaxSenderLength).value_or("");
  message.template_name = fields.optional_string("template", kMaxTemplateNameLength).value_or("");
  message.app_hash = fields.optional_string("app_hash", kMaxAppHashLength).value_or("");
  if (auto length = fields.optional_integer("code_length")) {
    if (*length < kMinCodeLength || *length > kMaxCodeLength) {
      fields.reject("code_length", "must be 4..10");
    } else {
      message.code_length = static_cast<int>(*length);
    }
  }
  if (auto ttl = fields.optional_integer("ttl_seconds")) {
    if (*ttl < kMinTtlSeconds || *ttl > kMaxTtlSeconds) {
      fields.reject("ttl_seconds", "must be 30..86400");
    } else {
      message.ttl_seconds = static_cast<int>(*ttl);
    }
  }
  message.purpose = fields.optional_string("purpose", kMaxPurposeLength).value_or("");
  if (!std::all_of(message.purpose.begin(), message.purpose.end(), is_name_char)) {
    fields.reject("purpose", "must be letters, digits, '_', '-' or '.'");
  }
  if (object.contains("metadata") && !object["metadata"].is_null()) {
    if (!is_flat_metadata(object["metadata"])) {
      fields.reject("metadata",
                    "must be an object of at most 16 keys with string, number or boolean values");
    } else {
      message.metadata = std::move(object["metadata"]);
    }
  }
  return message;
}
}  // namespace

Result<SendRequested> decode_send_requested(std::string_view payload) {
  return decode_with<SendRequested>(payload, "send request", read_send_requested);
}

Result<SendRequested> decode_send_requested_document(nlohmann::json&& document) {
  return decode_object<SendRequested>(document, "send request", read_send_requested);
}

std::string encode(const VerifyRequested& message) {
  JsonObjectWriter out;
  if (message.otp_code) out.string("otp_code", *message.otp_code);
  if (message.sealed_code) out.raw("otp_code_sealed", sealed_text(*message.sealed_code));
  if (!message.recipient.empty()) out.string("recipient", message.recipient);
  out.string("request_id", message.request_id);
  out.string("requested_at", format_rfc3339(message.requested_at));
  if (message.respond_by) out.string("respond_by", format_rfc3339(*message.respond_by));
  out.integer("schema_version", kSchemaVersion);
  out.string("tenant", message.tenant);
  out.string("verification_id", message.verification_id);
  return std::move(out).finish();
}

namespace {
VerifyRequested read_verify_requested(Fields& fields, json& object) {
  VerifyRequested message;
  message.request_id = fields.id("request_id");
  message.tenant = fields.id("tenant");
  // "" (what a verify by recipient carries), null or absent: none.
  const bool no_vid = object.contains("verification_id") && object["verification_id"].is_string() &&
                      object["verification_id"].get_ref<const std::string&>().empty();
  if (!no_vid) message.verification_id = fields.optional_string("verification_id").value_or("");
  if (!message.verification_id.empty() && !is_verification_id(message.verification_id)) {
    fields.reject("verification_id", "is not a verification id");
  }
  message.requested_at = fields.time("requested_at");
  message.respond_by = fields.optional_time("respond_by");
  message.recipient = fields.optional_string("recipient", kMaxRecipientLength).value_or("");
  if (message.verification_id.empty() == message.recipient.empty() && !fields.problem()) {
    fields.reject("verification_id", "or recipient is required (exactly one)");
  }
  bool has_sealed = object.contains("otp_code_sealed") && !object["otp_code_sealed"].is_null();
  bool has_plain = object.contains("otp_code") && !object["otp_code"].is_null();
  if (has_sealed == has_plain) {
    fields.reject("otp_code", "or otp_code_sealed is required (exactly one)");
  } else if (has_sealed) {
    message.sealed_code = fields.sealed("otp_code_sealed");
  } else {
    message.otp_code = fields.string("otp_code", 32);
  }
  return message;
}
}  // namespace

Result<VerifyRequested> decode_verify_requested(std::string_view payload) {
  return decode_with<VerifyRequested>(payload, "verify request", read_verify_requested);
}

Result<VerifyRequested> decode_verify_requested_document(nlohmann::json&& document) {
  return decode_object<VerifyRequested>(document, "verify request", read_verify_requested);
}

std::string encode(const Reply& message) {
  JsonObjectWriter out;
  if (message.attempts_remaining) out.integer("attempts_remaining", *message.attempts_remaining);
  if (message.channel) out.string("channel", to_string(*message.channel));
  if (message.code_length) out.integer("code_length", *message.code_length);
  out.string("correlation_id", message.correlation_id);
  if (message.expires_at) out.string("expires_at", format_rfc3339(*message.expires_at));
  if (message.failures_remaining) out.integer("failures_remaining", *message.failures_remaining);
  out.string("kind", to_string(message.kind));
  if (!message.message.empty()) out.string("message", message.message);
  out.string("outcome", to_string(message.outcome));
  if (!message.provider.empty()) out.string("provider", message.provider);
  if (message.rate_limit_limit) out.integer("rate_limit_limit", *message.rate_limit_limit);
  if (message.rate_limit_remaining) {
    out.integer("rate_limit_remaining", *message.rate_limit_remaining);
  }
  if (message.rate_limit_reset_seconds) {
    out.integer("rate_limit_reset_seconds", *message.rate_limit_reset_seconds);
  }
  out.string("request_id", message.request_id);
  if (message.retry_after_seconds) {
    out.integer("retry_after_seconds", *message.retry_after_seconds);
  }
  out.integer("schema_version", kSchemaVersion);
  out.string("status", to_string(message.status));
  out.string("tenant", message.tenant);
  out.string("verification_id", message.verification_id);
  return std::move(out).finish();
}

namespace {
Reply read_reply(Fields& fields, json& /*object*/) {
  Reply message;
  message.correlation_id = fields.id("correlation_id");
  message.request_id = fields.id("request_id");
  message.kind = fields.enumeration("kind", &detail::parse_request_kind, RequestKind::kSend);
  message.tenant = fields.id("tenant");
  message.verification_id = fields.verification_id_or_empty("verification_id");
  message.outcome = fields.enumeration("outcome", &parse_outcome, Outcome::kPending);
  message.status = fields.enumeration("status", &parse_status, Status::kPending);
  if (auto left = fields.optional_integer("attempts_remaining")) {
    message.attempts_remaining = static_cast<int>(*left);
  }
  message.expires_at = fields.optional_time("expires_at");
  if (auto channel = fields.optional_string("channel", detail::kMaxReplyChannelLength)) {
    auto parsed = parse_channel(*channel);
    if (!parsed)
      fields.reject("channel", parsed.error().message);
    else
      message.channel = *parsed;
  }
  if (auto length = fields.optional_integer("code_length")) {
    message.code_length = static_cast<int>(*length);
  }
  if (auto retry = fields.optional_integer("retry_after_seconds")) {
    if (*retry < 0 || *retry > detail::kMaxRetryAfterSeconds) {
      fields.reject("retry_after_seconds", "must be 0..604800");
    } else {
      message.retry_after_seconds = static_cast<int>(*retry);
    }
  }
  message.message = fields.optional_string("message", detail::kMaxReplyMessageLength).value_or("");
  for (auto [name, target] :
       {std::pair{"rate_limit_limit", &message.rate_limit_limit},
        std::pair{"rate_limit_remaining", &message.rate_limit_remaining},
        std::pair{"rate_limit_reset_seconds", &message.rate_limit_reset_seconds},
        std::pair{"failures_remaining", &message.failures_remaining}}) {
    if (auto value = fields.optional_integer(name)) {
      if (*value < 0 || *value > detail::kMaxReplyCount) {
        fields.reject(name, "must be 0..100000000");
      } else {
        *target = static_cast<int>(*value);
      }
    }
  }
  message.provider =
      fields.optional_string("provider", detail::kMaxReplyProviderLength).value_or("");
  return message;
}
}  // namespace

Result<Reply> decode_reply(std::string_view payload) {
  // The generator's plain replies are read in one pass; anything else gets the full decoder.
  if (auto plain = detail::scan_plain_reply(payload)) return std::move(*plain);
  return detail::decode_reply_document_text(payload);
}

Result<Reply> detail::decode_reply_document_text(std::string_view payload) {
  return decode_with<Reply>(payload, "reply", read_reply);
}

std::string encode(const DeliveryJob& message) {
  JsonObjectWriter out;
  if (!message.app_hash.empty()) out.string("app_hash", message.app_hash);
  out.integer("attempt", message.attempt);
  out.string("channel", to_string(message.channel));
  out.integer("code_length", message.code_length);
  out.string("deadline", format_rfc3339(message.deadline));
  out.string("expires_at", format_rfc3339(message.expires_at));
  if (!message.failed_providers.empty()) {
    out.strings("failed_providers", message.failed_providers,
                [](const std::string& name) -> std::string_view { return name; });
  }
  if (!message.fallback_channels.empty()) {
    out.strings("fallback_channels", message.fallback_channels,
                [](Channel channel) { return to_string(channel); });
  }
  if (!message.sender.empty()) out.string("from", message.sender);
  out.string("job_id", message.job_id);
  if (!message.locale.empty()) out.string("locale", message.locale);
  if (message.not_before) out.string("not_before", format_rfc3339(*message.not_before));
  out.string("recipient", message.recipient);
  out.integer("schema_version", kSchemaVersion);
  out.raw("sealed_code", sealed_text(message.sealed_code));
  if (!message.template_name.empty()) out.string("template", message.template_name);
  out.string("tenant", message.tenant);
  out.string("verification_id", message.verification_id);
  return std::move(out).finish();
}

namespace {
DeliveryJob read_delivery_job(Fields& fields, json& object) {
  DeliveryJob message;
  message.job_id = fields.id("job_id");
  message.tenant = fields.id("tenant");
  message.verification_id = fields.verification_id("verification_id");
  message.channel = fields.enumeration("channel", &parse_channel, Channel::kSms);
  message.recipient = fields.string("recipient", kMaxRecipientLength);
  message.sealed_code = fields.sealed("sealed_code");
  message.code_length = fields.integer("code_length", 4, 10);
  message.locale = fields.optional_string("locale", 35).value_or("");
  message.expires_at = fields.time("expires_at");
  message.deadline = fields.time("deadline");
  message.attempt = fields.integer("attempt", 0, 1000);
  message.sender = fields.optional_string("from", kMaxSenderLength).value_or("");
  message.template_name = fields.optional_string("template", kMaxTemplateNameLength).value_or("");
  message.app_hash = fields.optional_string("app_hash", kMaxAppHashLength).value_or("");
  message.not_before = fields.optional_time("not_before");
  if (object.contains("fallback_channels") && !object["fallback_channels"].is_null()) {
    const auto& channels = object["fallback_channels"];
    if (!channels.is_array() || channels.size() > 3) {
      fields.reject("fallback_channels", "must be an array of at most 3 channels");
    } else {
      for (const auto& channel : channels) {
        auto parsed = channel.is_string() ? parse_channel(channel.get<std::string>())
                                          : fail(Errc::kInvalidInput, "is not a channel");
        if (!parsed) {
          fields.reject("fallback_channels", "must hold only sms, email or whatsapp");
          break;
        }
        message.fallback_channels.push_back(*parsed);
      }
    }
  }
  if (object.contains("failed_providers") && !object["failed_providers"].is_null()) {
    const auto& providers = object["failed_providers"];
    bool valid = providers.is_array() && providers.size() <= 16;
    for (const auto& provider : providers) {
      valid = valid && provider.is_string() && !provider.get<std::string>().empty() &&
              provider.get<std::string>().size() <= 32;
    }
    if (!valid) {
      fields.reject("failed_providers", "must be an array of at most 16 provider names");
    } else {
      message.failed_providers = providers.get<std::vector<std::string>>();
    }
  }
  return message;
}
}  // namespace

Result<DeliveryJob> decode_delivery_job(std::string_view payload) {
  return decode_with<DeliveryJob>(payload, "delivery job", read_delivery_job);
}

std::string encode(const Event& message) {
  JsonObjectWriter out;
  out.raw("data", message.data.dump());
  out.string("id", message.id);
  out.integer("schema_version", kSchemaVersion);
  out.string("source", message.source);
  out.string("tenant", message.tenant);
  out.string("time", format_rfc3339(message.time));
  out.string("type", message.type);
  out.string("verification_id", message.verification_id);
  return std::move(out).finish();
}

namespace {
Event read_event(Fields& fields, json& object) {
  Event message;
  message.id = fields.id("id");
  message.type = fields.id("type");
  message.source = fields.id("source");
  message.time = fields.time("time");
  message.tenant = fields.id("tenant");
  message.verification_id = fields.verification_id("verification_id");
  if (object.contains("data")) {
    if (!object["data"].is_object())
      fields.reject("data", "must be an object");
    else
      message.data = std::move(object["data"]);
  }
  return message;
}
}  // namespace

Result<Event> decode_event(std::string_view payload) {
  return decode_with<Event>(payload, "event", read_event);
}

}  // namespace otp::messages
