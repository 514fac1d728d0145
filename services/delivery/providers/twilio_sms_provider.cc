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
  return " twilio code " + std::to_string(code->get<std::int64_t>());
}

// The one place where Twilio's HTTP statuses become an Errc.
Error map_twilio_status(const http::HttpResponse& response, const std::string& job_id) {
  const long status = response.status;
  const std::string what =
      "twilio http " + std::to_string(status) + twilio_error_code(response.body) + " job " + job_id;
  if (status == 401 || status == 403) {
    return Error{Errc::kPermanent, "twilio rejected credentials: " + what};
  }
  if (status == 408) return Error{Errc::kTimeout, "twilio request timeout: " + what};
  if (status == 429) {
    const auto header = response.header("Retry-After");
    return rate_limited_error("twilio rate limited: " + what,
                              header ? parse_retry_after(*header) : std::nullopt);
  }
  if (status >= 400 && status < 500) {
    return Error{Errc::kPermanent, "twilio refused message: " + what};
  }
  return Error{Errc::kUnavailable, "twilio unavailable: " + what};
}

}  // namespace

TwilioSmsProvider::TwilioSmsProvider(http::HttpClient& http, TwilioConfig config)
    : http_(http), config_(std::move(config)) {
  if (config_.account_sid.empty()) throw std::invalid_argument("twilio: account sid is required");
  if (config_.auth_token.empty()) throw std::invalid_argument("twilio: auth token is required");
  if (config_.from.empty() && config_.messaging_service_sid.empty()) {
    throw std::invalid_argument("twilio: a from number or a messaging service sid is required");
  }
  std::string base = config_.base_url;
  while (base.ends_with('/')) base.pop_back();
  messages_url_ = base + "/2010-04-01/Accounts/" + config_.account_sid + "/Messages.json";
}

Result<ProviderReceipt> TwilioSmsProvider::send(const OutboundMessage& message) {
  http::HeaderList form = {{"To", message.to}};
  if (!config_.messaging_service_sid.empty()) {
    form.emplace_back("MessagingServiceSid", config_.messaging_service_sid);
  } else {
    form.emplace_back("From", config_.from);
  }
  form.emplace_back("Body", message.body);

  const http::HttpRequest request{
      .method = "POST",
      .url = messages_url_,
      .headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                  {"Accept", "application/json"}},
      .body = http::form_urlencode(form),
      .timeout = config_.timeout,
      .basic_auth = std::make_pair(config_.account_sid, config_.auth_token.reveal()),
  };
  auto response = http_.send(request);
  if (!response) {
    return fail(response.error().code,
                "twilio job " + message.job_id + ": " + response.error().message);
  }
  if (response->status < 200 || response->status >= 300) {
    return tl::unexpected(map_twilio_status(*response, message.job_id));
  }

  const auto json = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  const auto sid = json.is_object() ? json.find("sid") : json.end();
  if (!json.is_object() || sid == json.end() || !sid->is_string()) {
    // Twilio may have accepted the message; retrying risks a duplicate SMS, which for an OTP is
    // better than none, so this is reported as retryable.
    return fail(Errc::kUnavailable, "twilio http " + std::to_string(response->status) +
                                        " reply without a message sid, job " + message.job_id);
  }
  return ProviderReceipt{.provider = std::string(name()),
                         .message_id = sid->get<std::string>(),
                         .latency = response->elapsed};
}

}  // namespace otp::delivery
