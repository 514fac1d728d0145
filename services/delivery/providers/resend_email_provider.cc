#include "services/delivery/providers/resend_email_provider.h"

#include <nlohmann/json.hpp>

#include <stdexcept>

namespace otp::delivery {
namespace {

// Resend's error `name` (snake_case identifiers only: its `message` may quote addresses).
std::string resend_error_name(const std::string& body) {
  const auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return {};
  const auto name = json.find("name");
  if (name == json.end() || !name->is_string()) return {};
  std::string value = *name;
  for (char c : value) {
    if (!((c >= 'a' && c <= 'z') || c == '_')) return {};
  }
  return value;
}

}  // namespace

ResendEmailProvider::ResendEmailProvider(http::HttpClient* http, ResendConfig config)
    : HttpProvider(http), config_(std::move(config)) {
  if (config_.api_key.empty()) throw std::invalid_argument("resend: api key is required");
  if (config_.from.empty()) throw std::invalid_argument("resend: a from address is required");
  std::string base = config_.base_url;
  while (base.ends_with('/')) base.pop_back();
  url_ = base + "/emails";
}

Result<http::HttpRequest> ResendEmailProvider::build_request(const OutboundMessage& message) const {
  if (message.to.empty()) return fail(Errc::kPermanent, "resend: no recipient");
  nlohmann::json body = {
      {"from", message.sender.empty() ? config_.from : message.sender},
      {"to", nlohmann::json::array({message.to})},
      {"subject", message.subject},
      {"html", message.body},
  };
  if (!message.text.empty()) body["text"] = message.text;
  http::HeaderList headers = {{"Content-Type", "application/json"},
                              {"Accept", "application/json"},
                              {"Authorization", "Bearer " + config_.api_key.reveal()}};
  if (!message.job_id.empty())
    headers.emplace_back("Idempotency-Key", message.job_id.substr(0, 256));
  return http::HttpRequest{.method = "POST",
                           .url = url_,
                           .headers = std::move(headers),
                           .body = body.dump(),
                           .timeout = config_.timeout,
                           .basic_auth = std::nullopt};
}

Result<ProviderReceipt> ResendEmailProvider::interpret(const http::HttpResponse& response,
                                                       std::chrono::milliseconds elapsed) const {
  if (response.status < 200 || response.status >= 300) {
    const auto name = resend_error_name(response.body);
    const std::string detail = name.empty() ? "" : "resend " + name;
    if (response.status == 429 &&
        (name == "daily_quota_exceeded" || name == "monthly_quota_exceeded")) {
      return fail(Errc::kPermanent, "resend quota exhausted: resend http 429 " + detail);
    }
    if (response.status == 409 && name == "concurrent_idempotent_requests") {
      return fail(Errc::kUnavailable, "resend busy: resend http 409 " + detail);
    }
    return tl::unexpected(classify_http_status("resend", response, detail));
  }
  const auto json = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  const auto id = json.is_object() ? json.find("id") : json.end();
  if (!json.is_object() || id == json.end() || !id->is_string()) {
    return fail(Errc::kUnavailable,
                "resend http " + std::to_string(response.status) + " reply without an id");
  }
  return ProviderReceipt{.provider = "resend", .message_id = *id, .latency = elapsed};
}

}  // namespace otp::delivery
