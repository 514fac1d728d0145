#include "services/delivery/providers/twilio_sms_provider.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

namespace otp::delivery {
namespace {

// "twilio code 21211" from an error reply, or nothing if the body is not Twilio's error JSON.
// Only the numeric code is kept: Twilio's `message` may quote the recipient's number.
std::string twilio_error_code(const std::string& body) {
  const auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return {};
  const auto code = json.find("code");
  if (code == json.end() || !code->is_number_integer()) return {};
  return "twilio code " + std::to_string(code->get<std::int64_t>());
}

std::string whatsapp_address(const std::string& number) {
  return number.starts_with("whatsapp:") ? number : "whatsapp:" + number;
}

}  // namespace

TwilioProvider::TwilioProvider(http::HttpClient& http, TwilioConfig config)
    : TwilioProvider(std::move(config)) {
  set_http(&http);
}

TwilioProvider::TwilioProvider(TwilioConfig config)
    : HttpProvider(nullptr), config_(std::move(config)) {
  if (config_.account_sid.empty()) throw std::invalid_argument("twilio: account sid is required");
  if (config_.auth_token.empty()) throw std::invalid_argument("twilio: auth token is required");
  if (config_.from.empty() && config_.messaging_service_sid.empty()) {
    throw std::invalid_argument("twilio: a from number or a messaging service sid is required");
  }
  std::string base = config_.base_url;
  while (base.ends_with('/')) base.pop_back();
  messages_url_ = base + "/2010-04-01/Accounts/" + config_.account_sid + "/Messages.json";
}

Result<http::HttpRequest> TwilioProvider::build_request(const OutboundMessage& message) const {
  if (message.to.empty()) return fail(Errc::kPermanent, std::string(name()) + ": no recipient");
  http::HeaderList form = {{"To", config_.whatsapp ? whatsapp_address(message.to) : message.to}};
  if (!message.sender.empty()) {
    form.emplace_back("From", config_.whatsapp ? whatsapp_address(message.sender) : message.sender);
  } else if (!config_.messaging_service_sid.empty()) {
    form.emplace_back("MessagingServiceSid", config_.messaging_service_sid);
  } else {
    form.emplace_back("From", config_.whatsapp ? whatsapp_address(config_.from) : config_.from);
  }
  if (config_.whatsapp && !config_.content_sid.empty()) {
    if (message.code.empty()) {
      return fail(Errc::kPermanent, "twilio-whatsapp: a content template needs the code");
    }
    form.emplace_back("ContentSid", config_.content_sid);
    form.emplace_back("ContentVariables", nlohmann::json{{"1", message.code}}.dump());
  } else {
    form.emplace_back("Body", message.body);
  }
  return http::HttpRequest{
      .method = "POST",
      .url = messages_url_,
      .headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                  {"Accept", "application/json"}},
      .body = http::form_urlencode(form),
      .timeout = config_.timeout,
      .basic_auth = std::make_pair(config_.account_sid, config_.auth_token.reveal()),
  };
}

Result<ProviderReceipt> TwilioProvider::interpret(const http::HttpResponse& response,
                                                  std::chrono::milliseconds elapsed) const {
  if (response.status < 200 || response.status >= 300) {
    return tl::unexpected(
        classify_http_status("twilio", response, twilio_error_code(response.body)));
  }
  const auto json = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  const auto sid = json.is_object() ? json.find("sid") : json.end();
  if (!json.is_object() || sid == json.end() || !sid->is_string()) {
    // Twilio may have accepted the message; retrying risks a duplicate SMS, which for an OTP is
    // better than none, so this is reported as retryable.
    return fail(Errc::kUnavailable,
                "twilio http " + std::to_string(response.status) + " reply without a message sid");
  }
  return ProviderReceipt{
      .provider = std::string(name()), .message_id = sid->get<std::string>(), .latency = elapsed};
}

}  // namespace otp::delivery
