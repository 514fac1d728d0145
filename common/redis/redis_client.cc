#include "common/redis/redis_client.h"

#include <hiredis/hiredis.h>

#include <cerrno>
#include <cstring>
#include <sys/time.h>
#include <vector>

namespace otp::redis {
namespace {

struct ContextDeleter {
  void operator()(redisContext* context) const noexcept { redisFree(context); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;

struct ReplyDeleter {
  void operator()(redisReply* reply) const noexcept { freeReplyObject(reply); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

timeval to_timeval(std::chrono::milliseconds duration) {
  const auto ms = duration.count();
  return timeval{.tv_sec = static_cast<time_t>(ms / 1000),
                 .tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000)};
}

// The one place a hiredis transport failure becomes an otp::Error. Every one of them (refused,
// reset, EOF, timeout, protocol garbage) leaves the connection unusable, and all mean "Redis is
// not answering properly right now": kUnavailable, so callers retry and fail closed meanwhile.
Error transport_error(const redisContext* context, std::string_view command,
                      const RedisOptions& options) {
  std::string detail = "no context";
  if (context != nullptr) {
    // hiredis 0.14 reports a socket timeout as REDIS_ERR_IO with errno EAGAIN.
    const bool timed_out =
        context->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
    detail = timed_out ? std::string("timed out") : std::string(context->errstr);
  }
  return Error{Errc::kUnavailable, "redis " + std::string(command) + " at " + options.host + ":" +
                                       std::to_string(options.port) + ": " + detail};
}

RedisReply convert(const redisReply& reply) {
  switch (reply.type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      return RedisReply{std::string(reply.str, reply.len)};
    case REDIS_REPLY_INTEGER:
      return RedisReply{static_cast<std::int64_t>(reply.integer)};
    case REDIS_REPLY_ERROR:
      return RedisReply{RedisErrorReply{std::string(reply.str, reply.len)}};
    case REDIS_REPLY_ARRAY: {
      RedisReply::Array elements;
      elements.reserve(reply.elements);
      for (std::size_t i = 0; i < reply.elements; ++i)
        elements.push_back(convert(*reply.element[i]));
      return RedisReply{std::move(elements)};
    }
    case REDIS_REPLY_NIL:
    default:
      return RedisReply{RedisNil{}};
  }
}

}  // namespace

struct RedisClient::Impl {
  ContextPtr context;

  // Sends one command on an open connection; drops the connection on any transport failure.
  Result<RedisReply> send(std::span<const std::string> args, std::string_view name,
                          const RedisOptions& options) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    argv.reserve(args.size());
    lengths.reserve(args.size());
    for (const auto& arg : args) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    ReplyPtr reply(static_cast<redisReply*>(redisCommandArgv(
        context.get(), static_cast<int>(argv.size()), argv.data(), lengths.data())));
    if (reply == nullptr || context->err != 0) {
      auto error = transport_error(context.get(), name, options);
      context.reset();
      return tl::unexpected(std::move(error));
    }
    return convert(*reply);
  }

  // Appends every command to the output buffer, then reads one reply per command: one round
  // trip for all of them. A transport failure anywhere drops the connection and fails the whole
  // pipeline (some commands may have run: callers keep their writes idempotent).
  Result<std::vector<RedisReply>> send_all(std::span<const std::vector<std::string>> commands,
                                           const RedisOptions& options) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const auto& args : commands) {
      argv.clear();
      lengths.clear();
      for (const auto& arg : args) {
        argv.push_back(arg.data());
        lengths.push_back(arg.size());
      }
      if (redisAppendCommandArgv(context.get(), static_cast<int>(argv.size()), argv.data(),
                                 lengths.data()) != REDIS_OK) {
        auto error = transport_error(context.get(), "pipeline", options);
        context.reset();
        return tl::unexpected(std::move(error));
      }
    }
    std::vector<RedisReply> replies;
    replies.reserve(commands.size());
    for (std::size_t i = 0; i < commands.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(context.get(), &raw) != REDIS_OK || raw == nullptr) {
        auto error = transport_error(context.get(), "pipeline", options);
        context.reset();
        return tl::unexpected(std::move(error));
      }
      ReplyPtr reply(static_cast<redisReply*>(raw));
      replies.push_back(convert(*reply));
    }
    return replies;
  }
};

RedisClient::RedisClient(RedisOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>()) {}
RedisClient::~RedisClient() = default;
RedisClient::RedisClient(RedisClient&&) noexcept = default;
RedisClient& RedisClient::operator=(RedisClient&&) noexcept = default;

bool RedisClient::is_connected() const noexcept { return impl_ && impl_->context != nullptr; }

void RedisClient::disconnect() noexcept {
  if (impl_) impl_->context.reset();
}

Result<void> RedisClient::connect() {
  if (is_connected()) return {};
  ContextPtr context(redisConnectWithTimeout(options_.host.c_str(), options_.port,
                                             to_timeval(options_.connect_timeout)));
  if (context == nullptr || context->err != 0) {
    return tl::unexpected(transport_error(context.get(), "connect", options_));
  }
  if (redisSetTimeout(context.get(), to_timeval(options_.command_timeout)) != REDIS_OK) {
    return tl::unexpected(transport_error(context.get(), "connect", options_));
  }
  // Keepalive finds a half-open connection (e.g. after a failover) before a command waits on it.
  static_cast<void>(redisEnableKeepAlive(context.get()));
  impl_->context = std::move(context);
  if (!options_.password.empty()) {
    const std::string args[] = {"AUTH", options_.password.reveal()};
    auto auth = reject_error_reply(impl_->send(args, "AUTH", options_), "AUTH");
    if (!auth) {
      impl_->context.reset();
      // A wrong password will not fix itself, but the operator may fix Redis's side: retryable.
      return tl::unexpected(Error{Errc::kUnavailable, auth.error().message});
    }
  }
  return {};
}

Result<RedisReply> RedisClient::command(std::span<const std::string> args) {
  if (args.empty()) return fail(Errc::kInternal, "redis: empty command");
  if (auto connected = connect(); !connected) return tl::unexpected(connected.error());
  return impl_->send(args, args.front(), options_);
}

Result<RedisReply> RedisClient::command(std::initializer_list<std::string> args) {
  return command(std::span<const std::string>(args.begin(), args.size()));
}

Result<RedisReply> RedisClient::eval_sha(std::string_view sha, std::span<const std::string> keys,
                                         std::span<const std::string> args) {
  std::vector<std::string> argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.emplace_back("EVALSHA");
  argv.emplace_back(sha);
  argv.push_back(std::to_string(keys.size()));
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  if (auto connected = connect(); !connected) return tl::unexpected(connected.error());
  return impl_->send(argv, "EVALSHA", options_);
}

Result<std::vector<RedisReply>> RedisClient::pipeline(
    std::span<const std::vector<std::string>> commands) {
  if (commands.empty()) return std::vector<RedisReply>{};
  for (const auto& args : commands) {
    if (args.empty()) return fail(Errc::kInternal, "redis: empty command in a pipeline");
  }
  if (auto connected = connect(); !connected) return tl::unexpected(connected.error());
  return impl_->send_all(commands, options_);
}

std::vector<std::string> RedisClient::eval_sha_command(const RedisScript& script,
                                                       std::span<const std::string> keys,
                                                       std::span<const std::string> args) {
  std::vector<std::string> argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.emplace_back("EVALSHA");
  argv.emplace_back(script.sha());
  argv.push_back(std::to_string(keys.size()));
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

Result<std::string> RedisClient::script_load(std::string_view source) {
  auto reply = reject_error_reply(command({"SCRIPT", "LOAD", std::string(source)}), "SCRIPT LOAD");
  if (!reply) return tl::unexpected(reply.error());
  if (const auto* sha = reply->string()) return *sha;
  return fail(Errc::kInternal, "redis SCRIPT LOAD: unexpected reply type");
}

Result<RedisReply> RedisClient::run_script(const RedisScript& script,
                                           std::span<const std::string> keys,
                                           std::span<const std::string> args) {
  const std::string name = "EVALSHA " + script.name();
  auto reply = eval_sha(script.sha(), keys, args);
  if (reply && reply->is_error() && reply->error()->message.starts_with("NOSCRIPT")) {
    auto loaded = script_load(script.source());
    if (!loaded) return tl::unexpected(loaded.error());
    if (*loaded != script.sha()) {
      return fail(Errc::kInternal, "redis SCRIPT LOAD " + script.name() + ": sha mismatch");
    }
    reply = eval_sha(script.sha(), keys, args);
  }
  return reject_error_reply(std::move(reply), name);
}

}  // namespace otp::redis
