#include "services/intake/json_body.h"

#include <cstdint>

namespace otp::intake {

bool is_valid_utf8(std::string_view text) noexcept {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<std::uint8_t>(text[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    std::size_t length = 0;
    std::uint32_t code_point = 0;
    if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2;
      code_point = lead & 0x1fU;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      code_point = lead & 0x0fU;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      code_point = lead & 0x07U;
    } else {
      return false;  // continuation byte as lead, overlong 0xc0/0xc1, or past 0xf4
    }
    if (text.size() - i < length) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<std::uint8_t>(text[i + k]);
      if ((next & 0xc0U) != 0x80U) return false;
      code_point = (code_point << 6U) | (next & 0x3fU);
    }
    if ((length == 3 && code_point < 0x800) || (length == 4 && code_point < 0x10000) ||
        (code_point >= 0xd800 && code_point <= 0xdfff) || code_point > 0x10ffff) {
      return false;
    }
    i += length;
  }
  return true;
}

ApiResult<nlohmann::json> parse_json_object(std::string_view body) {
  if (!is_valid_utf8(body)) return tl::unexpected(invalid_request("body is not valid UTF-8"));
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return tl::unexpected(invalid_request("body is not valid JSON"));
  if (!parsed.is_object()) return tl::unexpected(invalid_request("body must be a JSON object"));
  return parsed;
}

ApiResult<std::string> required_string(const nlohmann::json& object, std::string_view name,
                                       std::size_t max_length) {
  const std::string key(name);
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    return tl::unexpected(invalid_request(key + " is required"));
  }
  if (!it->is_string()) return tl::unexpected(invalid_request(key + " must be a string"));
  const auto& text = it->get_ref<const std::string&>();
  if (text.empty()) return tl::unexpected(invalid_request(key + " must not be empty"));
  if (text.size() > max_length) {
    return tl::unexpected(
        invalid_request(key + " must be at most " + std::to_string(max_length) + " bytes"));
  }
  return text;
}

ApiResult<std::optional<std::string>> optional_string(const nlohmann::json& object,
                                                      std::string_view name,
                                                      std::size_t max_length) {
  auto it = object.find(std::string(name));
  if (it == object.end() || it->is_null()) return std::optional<std::string>{};
  return required_string(object, name, max_length).map([](std::string text) {
    return std::optional<std::string>(std::move(text));
  });
}

ApiResult<std::optional<long long>> optional_integer(  // NOLINT(google-runtime-int)
    const nlohmann::json& object, std::string_view name, long long min,  // NOLINT
    long long max) {                                                     // NOLINT
  const std::string key(name);
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::optional<long long>{};  // NOLINT
  const std::string range = " from " + std::to_string(min) + " to " + std::to_string(max);
  if (!it->is_number_integer()) {
    return tl::unexpected(invalid_request(key + " must be an integer" + range));
  }
  std::int64_t value = 0;
  if (it->is_number_unsigned()) {
    const auto unsigned_value = it->get<std::uint64_t>();
    if (unsigned_value > static_cast<std::uint64_t>(max)) {
      return tl::unexpected(invalid_request(key + " must be an integer" + range));
    }
    value = static_cast<std::int64_t>(unsigned_value);
  } else {
    value = it->get<std::int64_t>();
  }
  if (value < min || value > max) {
    return tl::unexpected(invalid_request(key + " must be an integer" + range));
  }
  return std::optional<long long>(value);  // NOLINT
}

ApiResult<void> require_own_appid(const nlohmann::json& object, std::string_view tenant_id) {
  constexpr std::size_t kMaxAppIdLength = 64;
  auto appid = required_string(object, "appid", kMaxAppIdLength);
  if (!appid) return tl::unexpected(appid.error());
  if (*appid != tenant_id) {
    return tl::unexpected(ApiError{.status = 403,
                                   .code = "forbidden",
                                   .message = "appid does not match the API key's tenant",
                                   .retry_after = std::nullopt});
  }
  return {};
}

}  // namespace otp::intake
