#include "services/intake/webhooks/webhook_handler.h"

#include "common/crypto/hmac.h"
#include "services/intake/api_response.h"
#include "services/intake/webhooks/form_body.h"
#include "services/intake/webhooks/signatures.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <memory>

namespace otp::intake::webhooks {
namespace {

constexpr std::size_t kMaxStatuses = 1000;
constexpr std::size_t kMaxIdLength = 128;

HttpResponse forbidden(const char* provider) {
  spdlog::warn("webhook.signature_invalid provider={}", provider);
  return error_response(ApiError{.status = 403,
                                 .code = "forbidden",
                                 .message = "invalid or missing signature",
                                 .retry_after = std::nullopt});
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  });
  return text;
}

bool is_token(std::string_view text) {
  return !text.empty() && text.size() <= kMaxIdLength &&
         std::all_of(text.begin(), text.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' ||
                  c == '.' || c == '=' || c == ':';
         });
}

/// Meta error codes are integers; Twilio's are decimal strings. Either way, a short token.
std::string error_code_text(const nlohmann::json& code) {
  if (code.is_number_integer()) return std::to_string(code.get<long long>());
  if (code.is_string() && is_token(code.get_ref<const std::string&>()))
    return code.get<std::string>();
  return {};
}

/// One webhook's events in flight: answers once, after the last acknowledgement.
struct Batch {
  std::atomic<std::size_t> remaining;
  std::atomic<bool> failed{false};
  ResponseCallback respond;
  std::size_t count;

  Batch(std::size_t n, ResponseCallback done) : remaining(n), respond(std::move(done)), count(n) {}

  void settle(bool ok) {
    if (!ok) failed = true;
    if (remaining.fetch_sub(1) != 1) return;
    if (failed.load()) {
      respond(error_response(unavailable("events could not be recorded; retry")));
    } else {
      respond(json_response(200, {{"received", count}}));
    }
  }
};

}  // namespace

Result<std::vector<DeliveryStatus>> parse_meta_statuses(std::string_view body) {
  auto root = nlohmann::json::parse(body, nullptr, false);
  if (root.is_discarded() || !root.is_object())
    return fail(Errc::kInvalidInput, "not a JSON object");
  std::vector<DeliveryStatus> statuses;
  auto entries = root.find("entry");
  if (entries == root.end()) return statuses;
  if (!entries->is_array()) return fail(Errc::kInvalidInput, "entry must be an array");
  for (const auto& entry : *entries) {
    if (!entry.is_object()) return fail(Errc::kInvalidInput, "entry[] must be objects");
    auto changes = entry.find("changes");
    if (changes == entry.end()) continue;
    if (!changes->is_array()) return fail(Errc::kInvalidInput, "changes must be an array");
    for (const auto& change : *changes) {
      if (!change.is_object()) return fail(Errc::kInvalidInput, "changes[] must be objects");
      auto value = change.find("value");
      if (value == change.end() || !value->is_object()) continue;
      auto list = value->find("statuses");
      if (list == value->end()) continue;
      if (!list->is_array()) return fail(Errc::kInvalidInput, "statuses must be an array");
      for (const auto& item : *list) {
        if (!item.is_object()) return fail(Errc::kInvalidInput, "statuses[] must be objects");
        auto id = item.find("id");
        auto status = item.find("status");
        if (id == item.end() || !id->is_string() || !is_token(id->get_ref<const std::string&>()) ||
            status == item.end() || !status->is_string() ||
            !is_token(status->get_ref<const std::string&>())) {
          return fail(Errc::kInvalidInput, "statuses[] need an id and a status");
        }
        DeliveryStatus parsed{.provider = "meta",
                              .provider_message_id = id->get<std::string>(),
                              .status = lower(status->get<std::string>()),
                              .error_code = {},
                              .reported_at = std::nullopt};
        if (auto stamp = item.find("timestamp"); stamp != item.end() && stamp->is_string()) {
          const auto& text = stamp->get_ref<const std::string&>();
          std::int64_t seconds = 0;
          auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
          // Past 1970 and before 2200, as every time the system stores.
          if (error == std::errc() && end == text.data() + text.size() && seconds > 0 &&
              seconds < 7'258'118'400) {
            parsed.reported_at = from_unix_ms(seconds * 1000);
          }
        }
        if (auto errors = item.find("errors"); errors != item.end() && errors->is_array() &&
                                               !errors->empty() && (*errors)[0].is_object() &&
                                               (*errors)[0].contains("code")) {
          parsed.error_code = error_code_text((*errors)[0]["code"]);
        }
        statuses.push_back(std::move(parsed));
        if (statuses.size() > kMaxStatuses) {
          return fail(Errc::kInvalidInput, "too many statuses in one webhook");
        }
      }
    }
  }
  return statuses;
}

WebhookHandler::WebhookHandler(kafka::Producer& producer, const Clock& clock,
                               const messages::Topics& topics, const WebhookConfig& config)
    : producer_(producer), clock_(clock), topics_(topics), config_(config) {}

void WebhookHandler::twilio_status(const HttpRequest& request, ResponseCallback respond) {
  auto params = parse_form(request.body);
  if (!params) return respond(error_response(invalid_request("body is not a valid form")));
  std::string url = config_.public_base_url + request.path;
  if (!request.query.empty()) url += "?" + request.query;
  auto signature = request.header("X-Twilio-Signature");
  if (!signature ||
      !twilio_signature_valid(config_.twilio_auth_token.reveal(), url, *params, *signature)) {
    return respond(forbidden("twilio"));
  }
  const auto* sid = form_value(*params, "MessageSid");
  if (sid == nullptr) sid = form_value(*params, "SmsSid");
  const auto* status = form_value(*params, "MessageStatus");
  if (status == nullptr) status = form_value(*params, "SmsStatus");
  if (sid == nullptr || !is_token(*sid) || status == nullptr || !is_token(*status)) {
    return respond(error_response(invalid_request("MessageSid and MessageStatus are required")));
  }
  const auto* to = form_value(*params, "To");
  const bool whatsapp = to != nullptr && to->rfind("whatsapp:", 0) == 0;
  const auto* error_code = form_value(*params, "ErrorCode");
  DeliveryStatus parsed{
      .provider = whatsapp ? "twilio-whatsapp" : "twilio",
      .provider_message_id = *sid,
      .status = lower(*status),
      .error_code = error_code != nullptr && is_token(*error_code) ? *error_code : std::string(),
      .reported_at = std::nullopt};
  publish_all({parsed}, std::move(respond));
}

void WebhookHandler::meta_status(const HttpRequest& request, ResponseCallback respond) {
  auto signature = request.header("X-Hub-Signature-256");
  if (!signature ||
      !meta_signature_valid(config_.meta_app_secret.reveal(), request.body, *signature)) {
    return respond(forbidden("meta"));
  }
  auto statuses = parse_meta_statuses(request.body);
  if (!statuses) return respond(error_response(invalid_request(statuses.error().message)));
  if (statuses->empty()) return respond(json_response(200, {{"received", 0}}));
  publish_all(*statuses, std::move(respond));
}

void WebhookHandler::meta_handshake(const HttpRequest& request, ResponseCallback respond) const {
  auto query = parse_form(request.query);
  if (!query) return respond(error_response(invalid_request("malformed query string")));
  const auto* mode = form_value(*query, "hub.mode");
  const auto* token = form_value(*query, "hub.verify_token");
  const auto* challenge = form_value(*query, "hub.challenge");
  if (mode == nullptr || *mode != "subscribe" || token == nullptr || challenge == nullptr ||
      !crypto::constant_time_equal(*token, config_.meta_verify_token.reveal())) {
    return respond(forbidden("meta"));
  }
  if (!is_token(*challenge)) return respond(error_response(invalid_request("bad hub.challenge")));
  respond(HttpResponse{.status = 200,
                       .headers = {{"Content-Type", "text/plain"}, {"Cache-Control", "no-store"}},
                       .body = *challenge,
                       .close_connection = false});
}

void WebhookHandler::publish_all(const std::vector<DeliveryStatus>& statuses,
                                 ResponseCallback respond) {
  auto batch = std::make_shared<Batch>(statuses.size(), std::move(respond));
  const auto now = clock_.now();
  for (const auto& status : statuses) {
    auto record = delivery_status_record(topics_, status, now);
    spdlog::info("webhook.status provider={} provider_message_id={} status={}", status.provider,
                 status.provider_message_id, status.status);
    auto enqueued = producer_.produce(record, [batch](const Result<void>& delivered) {
      if (!delivered) {
        spdlog::warn("webhook.publish_failed reason=\"{}\"", delivered.error().message);
      }
      batch->settle(delivered.has_value());
    });
    if (!enqueued) {
      spdlog::warn("webhook.enqueue_failed reason=\"{}\"", enqueued.error().message);
      batch->settle(false);
    }
  }
}

void add_webhook_routes(ApiRouter& router, WebhookHandler& handler, const WebhookConfig& config) {
  if (!config.twilio_auth_token.empty() && config.public_base_url.empty()) {
    spdlog::warn("webhook.twilio_disabled reason=\"OTP_PUBLIC_BASE_URL is not set\"");
  }
  if (!config.twilio_auth_token.empty() && !config.public_base_url.empty()) {
    router.add(public_route("POST", "/webhooks/twilio/status"),
               [&handler](const RouteRequest& request, ResponseCallback respond) {
                 handler.twilio_status(request.http, std::move(respond));
               });
  }
  if (!config.meta_app_secret.empty()) {
    router.add(public_route("POST", "/webhooks/meta"),
               [&handler](const RouteRequest& request, ResponseCallback respond) {
                 handler.meta_status(request.http, std::move(respond));
               });
    router.add(public_route("GET", "/webhooks/meta"),
               [&handler](const RouteRequest& request, ResponseCallback respond) {
                 handler.meta_handshake(request.http, std::move(respond));
               });
  }
}

}  // namespace otp::intake::webhooks
