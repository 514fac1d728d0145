#pragma once

#include "services/intake/api_response.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace otp::intake {

/// Strict reading of JSON request bodies. Every failure is a 400 `invalid_request` whose message
/// names the field and the rule, never the offending value.

/// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past
/// U+10FFFF).
[[nodiscard]] bool is_valid_utf8(std::string_view text) noexcept;

/// The body as a JSON object: it must be valid UTF-8, valid JSON and an object.
[[nodiscard]] ApiResult<nlohmann::json> parse_json_object(std::string_view body);

/// Field `name` of `object`: present, not null, a string, non-empty, at most `max_length` bytes.
[[nodiscard]] ApiResult<std::string> required_string(const nlohmann::json& object,
                                                     std::string_view name, std::size_t max_length);

/// Field `name` of `object`: nullopt when absent or null, otherwise as `required_string`.
[[nodiscard]] ApiResult<std::optional<std::string>> optional_string(const nlohmann::json& object,
                                                                    std::string_view name,
                                                                    std::size_t max_length);

/// Field `name` of `object`: nullopt when absent or null; otherwise a JSON integer (not a float,
/// string or boolean) in [min, max].
[[nodiscard]] ApiResult<std::optional<long long>> optional_integer(  // NOLINT(google-runtime-int)
    const nlohmann::json& object, std::string_view name, long long min,  // NOLINT
    long long max);                                                      // NOLINT

/// Checks the body's `appid` against the authenticated tenant: a 400 if it is missing or not a
/// string, a 403 `forbidden` if it names another tenant. Call it before reading any other field,
/// so a request for another tenant learns nothing about the rest of its body.
[[nodiscard]] ApiResult<void> require_own_appid(const nlohmann::json& object,
                                                std::string_view tenant_id);

}  // namespace otp::intake
