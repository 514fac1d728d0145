#include "services/delivery/providers/meta_whatsapp_provider.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <set>
#include <stdexcept>

namespace otp::delivery {

MetaWhatsAppProvider::MetaWhatsAppProvider(http::HttpClient* http, MetaWhatsAppConfig config)
    : HttpProvider(http), config_(std::move(config)) {
  if (config_.phone_number_id.empty()) {
    throw std::invalid_argument("meta: phone number id is required");
  }
  if (config_.access_token.empty()) throw std::invalid_argument("meta: access token is required");
  if (config_.template_name.empty()) throw std::invalid_argument("meta: template name is required");
  std::string base = config_.base_url;
  while (base.ends_with('/')) base.pop_back();
  url_ = base + "/" + config_.api_version + "/" + config_.phone_number_id + "/messages";
}

std::string MetaWhatsAppProvider::language_for(const std::string& locale) const {
  if (auto exact = config_.languages.find(locale); exact != config_.languages.end()) {
    return exact->second;
  }
  const auto dash = locale.find('-');
  if (dash != std::string::npos) {
    // A regional locale the operator listed with an underscore ("pt_BR"), else its language.
    std::string underscored = locale;
    underscored[dash] = '_';
    for (const auto& [ours, theirs] : config_.languages) {
      if (theirs == underscored) return theirs;
    }
    if (auto language = config_.languages.find(locale.substr(0, dash));
        language != config_.languages.end()) {
      return language->second;
    }
  }
  return config_.default_language;
}

Result<http::HttpRequest> MetaWhatsAppProvider::build_request(
    const OutboundMessage& message) const {
  if (message.to.empty()) return fail(Errc::kPermanent, "meta: no recipient");
  if (message.code.empty()) {
    return fail(Errc::kPermanent, "meta: an authentication template needs the code");
  }
  const nlohmann::json code_parameter =
      nlohmann::json::array({nlohmann::json{{"type", "text"}, {"text", message.code}}});
  const nlohmann::json body = {
      {"messaging_product", "whatsapp"},
      {"recipient_type", "individual"},
      {"to", message.to},
      {"type", "template"},
      {"template",
       {{"name", config_.template_name},
        {"language", {{"code", language_for(message.locale)}}},
        {"components", nlohmann::json::array({
                           {{"type", "body"}, {"parameters", code_parameter}},
                           {{"type", "button"},
                            {"sub_type", "url"},
                            {"index", "0"},
                            {"parameters", code_parameter}},
                       })}}},
  };
  return http::HttpRequest{
      .method = "POST",
      .url = url_,
      .headers = {{"Content-Type", "application/json"},
                  {"Accept", "application/json"},
                  {"Authorization", "Bearer " + config_.access_token.reveal()}},
      .body = body.dump(),
      .timeout = config_.timeout,
      .basic_auth = std::nullopt};
}

Result<ProviderReceipt> MetaWhatsAppProvider::interpret(const http::HttpResponse& response,
                                                        std::chrono::milliseconds elapsed) const {
  const auto json = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (response.status < 200 || response.status >= 300) {
    const auto error = json.is_object() ? json.find("error") : json.end();
    if (json.is_object() && error != json.end() && error->is_object() && error->contains("code") &&
        (*error)["code"].is_number_integer()) {
      const auto code = (*error)["code"].get<std::int64_t>();
      const std::string what =
          "meta http " + std::to_string(response.status) + " meta code " + std::to_string(code);
      static const std::set<std::int64_t> kRateLimits = {4, 80007, 130429, 131048, 131056};
      static const std::set<std::int64_t> kTemporary = {1, 2, 131000, 131016, 131057, 133004};
      if (kRateLimits.contains(code)) {
        const auto header = response.header("Retry-After");
        return tl::unexpected(rate_limited_error(
            "meta rate limited: " + what, header ? parse_retry_after(*header) : std::nullopt));
      }
      if (kTemporary.contains(code)) return fail(Errc::kUnavailable, "meta unavailable: " + what);
      if (code == 0 || code == 3 || code == 10 || code == 190 || (code >= 200 && code < 300)) {
        return fail(Errc::kPermanent, "meta rejected credentials: " + what);
      }
      return fail(Errc::kPermanent, "meta refused message: " + what);
    }
    return tl::unexpected(classify_http_status("meta", response, ""));
  }
  const auto messages = json.is_object() ? json.find("messages") : json.end();
  if (!json.is_object() || messages == json.end() || !messages->is_array() || messages->empty() ||
      !(*messages)[0].is_object() || !(*messages)[0].contains("id") ||
      !(*messages)[0]["id"].is_string()) {
    return fail(Errc::kUnavailable,
                "meta http " + std::to_string(response.status) + " reply without a message id");
  }
  return ProviderReceipt{.provider = "meta",
                         .message_id = (*messages)[0]["id"].get<std::string>(),
                         .latency = elapsed};
}

}  // namespace otp::delivery
