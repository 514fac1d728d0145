#include "common/redis/redis_reply.h"

#include <array>

namespace otp::redis {
namespace {

// Error prefixes that describe a passing server state, not a bad request.
constexpr std::array<std::string_view, 8> kTransientPrefixes = {
    "LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "READONLY", "MOVED", "ASK"};

bool starts_with_word(std::string_view text, std::string_view word) {
  return text.substr(0, word.size()) == word &&
         (text.size() == word.size() || text[word.size()] == ' ');
}

}  // namespace

Error to_error(const RedisErrorReply& reply, std::string_view command) {
  std::string message = "redis " + std::string(command) + ": " + reply.message;
  for (auto prefix : kTransientPrefixes) {
    if (starts_with_word(reply.message, prefix)) return Error{Errc::kUnavailable, message};
  }
  return Error{Errc::kInternal, std::move(message)};
}

Result<RedisReply> reject_error_reply(Result<RedisReply> reply, std::string_view command) {
  if (reply && reply->is_error()) return tl::unexpected(to_error(*reply->error(), command));
  return reply;
}

}  // namespace otp::redis
