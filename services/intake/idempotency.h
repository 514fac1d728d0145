#pragma once

#include "services/intake/api_response.h"
#include "services/intake/http_message.h"

#include <optional>
#include <string>
#include <string_view>

namespace otp::intake {

/// The ids a request is published under. Random for an ordinary request; derived from the
/// tenant, the operation and the client's `Idempotency-Key` when the request carries one, so a
/// replayed request reaches the generator with the same request id (the generator is idempotent
/// on (tenant, request_id)) and names the same verification.
struct RequestIds {
  std::string request_id;
  std::string verification_id;  ///< send only; empty for operations on an existing verification
};

/// The most characters an `Idempotency-Key` may have.
inline constexpr std::size_t kMaxIdempotencyKeyLength = 128;

/// The request's `Idempotency-Key` header: nullopt when absent; 400 `invalid_request` when it is
/// empty, longer than kMaxIdempotencyKeyLength or has a character outside visible ASCII
/// (0x21-0x7E). Pure.
[[nodiscard]] ApiResult<std::optional<std::string>> idempotency_key(const HttpRequest& request);

/// Ids for `POST /otp/send` with `key`: request id `derived_uuid(tenant|send|key)` and
/// verification id `otp_` + 32 hex digits of SHA-256(tenant|send-verification|key). The same
/// (tenant, key) always gives the same ids; another tenant's identical key gives other ids.
[[nodiscard]] RequestIds send_ids_for_key(std::string_view tenant, std::string_view key);

/// The request id for `operation` (resend, cancel) on `verification_id` with `key`.
[[nodiscard]] std::string action_request_id_for_key(std::string_view tenant,
                                                    std::string_view operation,
                                                    std::string_view verification_id,
                                                    std::string_view key);

}  // namespace otp::intake
