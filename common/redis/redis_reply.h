#pragma once

#include "common/error/error.h"

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace otp::redis {

/// Redis answered with nil (a missing key, an empty HGET, a Lua `false`).
struct RedisNil {
  bool operator==(const RedisNil&) const = default;
};

/// Redis answered with an error reply (`-ERR ...`, `-NOSCRIPT ...`, a Lua `redis.error_reply`).
/// The text is Redis's own; it never contains the command's arguments.
struct RedisErrorReply {
  std::string message;
  bool operator==(const RedisErrorReply&) const = default;
};

/// One RESP2 reply, copied out of hiredis so that callers never see its types. Status replies
/// (`+OK`) arrive as strings. A plain value: copy and compare freely.
///
///   auto reply = client.command({"GET", key});
///   if (!reply) return tl::unexpected(reply.error());     // transport failure
///   if (reply->is_nil()) return std::nullopt;              // no such key
///   if (const auto* text = reply->string()) use(*text);
struct RedisReply {
  using Array = std::vector<RedisReply>;
  std::variant<RedisNil, std::int64_t, std::string, Array, RedisErrorReply> value;

  [[nodiscard]] bool is_nil() const noexcept { return std::holds_alternative<RedisNil>(value); }
  [[nodiscard]] bool is_error() const noexcept {
    return std::holds_alternative<RedisErrorReply>(value);
  }
  /// The alternative, or nullptr if the reply holds another one.
  [[nodiscard]] const std::int64_t* integer() const noexcept {
    return std::get_if<std::int64_t>(&value);
  }
  [[nodiscard]] const std::string* string() const noexcept {
    return std::get_if<std::string>(&value);
  }
  [[nodiscard]] const Array* array() const noexcept { return std::get_if<Array>(&value); }
  [[nodiscard]] const RedisErrorReply* error() const noexcept {
    return std::get_if<RedisErrorReply>(&value);
  }

  bool operator==(const RedisReply&) const = default;
};

/// What an error reply means for the caller, decided in one place (redis_reply.cc): transient
/// server states (LOADING, BUSY, MASTERDOWN, TRYAGAIN, CLUSTERDOWN, READONLY, MOVED/ASK while a
/// cluster resharding is under way) are kUnavailable, so the record is retried; everything else
/// (a script error, WRONGTYPE, a syntax error) is kInternal, a bug. `command` names the command
/// in the message (e.g. `EVALSHA issue`).
[[nodiscard]] Error to_error(const RedisErrorReply& reply, std::string_view command);

/// Passes a successful reply through and turns an error reply into an Error via to_error.
[[nodiscard]] Result<RedisReply> reject_error_reply(Result<RedisReply> reply,
                                                    std::string_view command);

}  // namespace otp::redis
