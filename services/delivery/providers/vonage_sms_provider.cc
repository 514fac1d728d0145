#include "services/delivery/providers/vonage_sms_provider.h"

#include "services/delivery/providers/sms_encoding.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <stdexcept>

namespace otp::delivery {
namespace {

// "+447700900123" -> "447700900123"; an alphanumeric sender id is kept as is.
std::string vonage_number(const std::string& value) {
  if (value.size() > 1 && value.front() == '+' &&
      std::all_of(value.begin() + 1, value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return value.substr(1);
  }
  return value;
}

std::string status_of(const nlohmann::json& part) {
  const auto status = part.find("status");
  if (status == part.end()) return {};
  if (status->is_string()) return status->get<std::string>();
  if (status->is_number_integer()) return std::to_string(status->get<int>());
  return {};
}

Error vonage_error(const std::string& status) {
  const std::string what = "vonage status " + status;
  if (status == "1") return rate_limited_error("vonage throttled: " + what, std::nullopt);
  if (status == "5" || status == "10") {
    return Error{Errc::kUnavailable, "vonage unavailable: " + what};
  }
  if (status == "4" || status == "8" || status == "14" || status == "32") {
    return Error{Errc::kPermanent, "vonage rejected credentials: " + what};
  }
  return Error{Errc::kPermanent, "vonage refused message: " + what};
}

}  // namespace

VonageSmsProvider::VonageSmsProvider(http::HttpClient* http, VonageConfig config)
    : HttpProvider(http), config_(std::move(config)) {
  if (config_.api_key.empty()) throw std::invalid_argument("vonage: api key is required");
  if (config_.api_secret.empty()) throw std::invalid_argument("vonage: api secret is required");
  if (config_.from.empty()) throw std::invalid_argument("vonage: a from number or id is required");
  std::string base = config_.base_url;
  while (base.ends_with('/')) base.pop_back();
  url_ = base + "/sms/json";
}

Result<http::HttpRequest> VonageSmsProvider::build_request(const OutboundMessage& message) const {
  if (message.to.empty()) return fail(Errc::kPermanent, "vonage: no recipient");
  http::HeaderList form = {
      {"api_key", config_.api_key},
      {"api_secret", config_.api_secret.reveal()},
      {"from", vonage_number(message.sender.empty() ? config_.from : message.sender)},
      {"to", message.to.starts_with('+') ? message.to.substr(1) : message.to},
      {"text", message.body},
  };
  if (!sms_encoding(message.body).gsm7) form.emplace_back("type", "unicode");
  if (!message.job_id.empty()) form.emplace_back("client-ref", message.job_id.substr(0, 100));
  return http::HttpRequest{
      .method = "POST",
      .url = url_,
      .headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                  {"Accept", "application/json"}},
      .body = http::form_urlencode(form),
      .timeout = config_.timeout,
      .basic_auth = std::nullopt,
  };
}

Result<ProviderReceipt> VonageSmsProvider::interpret(const http::HttpResponse& response,
                                                     std::chrono::milliseconds elapsed) const {
  if (response.status != 200) return tl::unexpected(classify_http_status("vonage", response, ""));
  const auto json = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  const auto parts = json.is_object() ? json.find("messages") : json.end();
  if (!json.is_object() || parts == json.end() || !parts->is_array() || parts->empty()) {
    return fail(Errc::kUnavailable, "vonage http 200 reply without messages");
  }
  std::string message_id;
  for (const auto& part : *parts) {
    if (!part.is_object()) return fail(Errc::kUnavailable, "vonage http 200 malformed message");
    const auto status = status_of(part);
    if (status != "0") return tl::unexpected(vonage_error(status.empty() ? "?" : status));
    const auto id = part.find("message-id");
    if (message_id.empty() && id != part.end() && id->is_string()) message_id = *id;
  }
  if (message_id.empty())
    return fail(Errc::kUnavailable, "vonage http 200 reply without a message-id");
  return ProviderReceipt{.provider = "vonage", .message_id = message_id, .latency = elapsed};
}

}  // namespace otp::delivery
