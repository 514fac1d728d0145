#pragma once

#include "common/messages/json_writer.h"
#include "services/intake/http_message.h"

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace otp::intake {

/// A failure as the API reports it: an HTTP status, a stable machine code from the list in
/// docs/http-api.md (`invalid_request`, `unauthorized`, ...), a human message, and for
/// retryable failures how long to wait. Messages never carry secrets, codes or full recipients.
struct ApiError {
  int status = 400;
  std::string code;
  std::string message;
  std::optional<std::chrono::seconds> retry_after;
};

/// A value or the ApiError that answers the request instead.
template <class T>
using ApiResult = tl::expected<T, ApiError>;

/// 400 `invalid_request`.
[[nodiscard]] ApiError invalid_request(std::string message);
/// 503 `unavailable` with `retry_after` (and a Retry-After header).
[[nodiscard]] ApiError unavailable(std::string message,
                                   std::chrono::seconds retry_after = std::chrono::seconds(1));
/// 500 `internal`: a bug or an impossible state; details go to the log, not to the client.
[[nodiscard]] ApiError internal_error();

/// `body` serialised, with `Content-Type: application/json` and `Cache-Control: no-store` (OTP
/// replies must never be cached by an intermediary).
[[nodiscard]] HttpResponse json_response(int status, const nlohmann::ordered_json& body);

/// The text of a flat JSON object built field by field, in order, without a JSON tree: the hot
/// answers (send, resend, verify) cost a fraction of an `ordered_json` built and dumped. Output
/// is byte-identical to `json_response`'s `dump` of the same fields: no whitespace, strings
/// escaped as nlohmann escapes them (`\"`, `\\`, `\n`, ..., `\u00XX` for other control
/// characters, everything else as is), invalid UTF-8 replaced by U+FFFD.
class JsonObjectText {
 public:
  JsonObjectText& add(std::string_view key, std::string_view value);
  JsonObjectText& add(std::string_view key, const char* value) {
    return add(key, std::string_view(value));
  }
  JsonObjectText& add(std::string_view key, bool value);
  JsonObjectText& add(std::string_view key, std::int64_t value);
  JsonObjectText& add(std::string_view key, int value) {
    return add(key, static_cast<std::int64_t>(value));
  }
  /// The object's text; the writer is empty afterwards.
  [[nodiscard]] std::string finish();

 private:
  messages::JsonObjectWriter writer_;
};

/// `body` (JSON text) with the headers of `json_response`.
[[nodiscard]] HttpResponse json_text_response(int status, std::string body);

/// The error envelope: `{"success": false, "error": {"code", "message", "retry_after"?}}` merged
/// with the top-level fields of `extra` (e.g. `verification_id`), plus a Retry-After header when
/// `error.retry_after` is set.
[[nodiscard]] HttpResponse error_response(
    const ApiError& error, const nlohmann::ordered_json& extra = nlohmann::ordered_json::object());

}  // namespace otp::intake
