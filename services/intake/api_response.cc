#include "services/intake/api_response.h"

#include "common/messages/json_writer.h"
#include "services/intake/json_body.h"

#include <fmt/format.h>

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

namespace {

void append_json_string(std::string& out, std::string_view value) {
  if (!is_valid_utf8(value)) {
    // Rare (our own strings are validated on the way in): nlohmann's replacement, as dump does.
    out += nlohmann::json(std::string(value))
               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return;
  }
  messages::append_escaped_json_string(out, value);
}

}  // namespace

void JsonObjectText::key(std::string_view name) {
  if (text_.size() > 1) text_ += ',';
  append_json_string(text_, name);
  text_ += ':';
}

JsonObjectText& JsonObjectText::add(std::string_view name, std::string_view value) {
  key(name);
  append_json_string(text_, value);
  return *this;
}

JsonObjectText& JsonObjectText::add(std::string_view name, bool value) {
  key(name);
  text_ += value ? "true" : "false";
  return *this;
}

JsonObjectText& JsonObjectText::add(std::string_view name, std::int64_t value) {
  key(name);
  fmt::format_to(std::back_inserter(text_), "{}", value);
  return *this;
}

std::string JsonObjectText::finish() {
  text_ += '}';
  std::string out = std::move(text_);
  // clear + push_back, not `= "{"`: g++ 12 -O2 reports a false -Wrestrict for the assignment.
  text_.clear();
  text_.push_back('{');
  return out;
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
