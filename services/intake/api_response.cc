#include "services/intake/api_response.h"

#include "services/intake/json_body.h"

#include <utility>

namespace otp::intake {

ApiError invalid_request(std::string message) {
  return ApiError{.status = 400,
                  .code = "invalid_request",
                  .message = std::move(message),
                  .retry_after = std::nullopt};
}

ApiError unavailable(std::string message, std::chrono::seconds retry_after) {
  return ApiError{.status = 503,
                  .code = "unavailable",
                  .message = std::move(message),
                  .retry_after = retry_after};
}

ApiError internal_error() {
  return ApiError{
      .status = 500, .code = "internal", .message = "internal error", .retry_after = std::nullopt};
}

JsonObjectText& JsonObjectText::add(std::string_view name, std::string_view value) {
  if (is_valid_utf8(value)) {
    writer_.string(name, value);
  } else {
    // Rare (our own strings are validated on the way in): nlohmann's replacement, as dump does.
    writer_.raw(name, nlohmann::json(std::string(value))
                          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  return *this;
}

JsonObjectText& JsonObjectText::add(std::string_view name, bool value) {
  writer_.boolean(name, value);
  return *this;
}

JsonObjectText& JsonObjectText::add(std::string_view name, std::int64_t value) {
  writer_.integer(name, value);
  return *this;
}

std::string JsonObjectText::finish() {
  return std::exchange(writer_, messages::JsonObjectWriter()).finish();
}

HttpResponse json_text_response(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.headers = {{"Content-Type", "application/json"}, {"Cache-Control", "no-store"}};
  response.body = std::move(body);
  return response;
}

HttpResponse json_response(int status, const nlohmann::ordered_json& body) {
  HttpResponse response;
  response.status = status;
  response.headers = {{"Content-Type", "application/json"}, {"Cache-Control", "no-store"}};
  // Replacement instead of an exception: every string we emit was validated as UTF-8 on the way
  // in, but a reply from Kafka is only as clean as its producer.
  response.body = body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  return response;
}

HttpResponse error_response(const ApiError& error, const nlohmann::ordered_json& extra) {
  nlohmann::ordered_json details = {{"code", error.code}, {"message", error.message}};
  if (error.retry_after) details["retry_after"] = error.retry_after->count();
  nlohmann::ordered_json body = {{"success", false}, {"error", std::move(details)}};
  if (extra.is_object()) {
    for (const auto& [key, value] : extra.items()) {
      if (key != "success" && key != "error") body[key] = value;
    }
  }
  HttpResponse response = json_response(error.status, body);
  if (error.retry_after) {
    response.headers.emplace_back("Retry-After", std::to_string(error.retry_after->count()));
  }
  return response;
}

}  // namespace otp::intake
