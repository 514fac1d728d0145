#include "common/redis/redis_client.h"
#include "tests/integration/generator/test_env.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include <vector>

namespace otp::redis {
namespace {

using namespace std::chrono_literals;
using generator::testing::redis_options_from_env;
using generator::testing::unique_name;

class RedisClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto options = redis_options_from_env();
    ASSERT_TRUE(options.has_value());
    options_ = *options;
    client_.emplace(options_);
    ASSERT_TRUE(client_->connect().has_value());
  }

  RedisOptions options_;
  std::optional<RedisClient> client_;
};

TEST_F(RedisClientTest, PipelineAnswersEveryCommandInOrderInOneCall) {
  const std::string key = "it-redis:pipeline:" + std::to_string(::getpid());
  std::vector<std::vector<std::string>> commands = {{"SET", key, "1", "PX", "60000"},
                                                    {"INCR", key},
                                                    {"LPUSH", key, "x"},  // WRONGTYPE: a value
                                                    {"GET", key},
                                                    {"GET", key + ":missing"}};
  auto replies = client_->pipeline(commands);
  ASSERT_TRUE(replies.has_value()) << replies.error().message;
  ASSERT_EQ(replies->size(), 5U);
  EXPECT_EQ(*(*replies)[0].string(), "OK");
  EXPECT_EQ(*(*replies)[1].integer(), 2);
  EXPECT_TRUE((*replies)[2].is_error());
  EXPECT_EQ(*(*replies)[3].string(), "2");
  EXPECT_TRUE((*replies)[4].is_nil());
  EXPECT_TRUE(client_->pipeline({}).value().empty());
  // The connection is still in step: the next command gets its own reply.
  EXPECT_EQ(*client_->command({"GET", key})->string(), "2");
  static_cast<void>(client_->command({"DEL", key}));
}

TEST_F(RedisClientTest, PipelineToAStoppedServerIsUnavailable) {
  auto options = options_;
  options.port = 1;  // nothing listens there
  RedisClient down(options);
  std::vector<std::vector<std::string>> commands = {{"PING"}};
  auto replies = down.pipeline(commands);
  ASSERT_FALSE(replies.has_value());
  EXPECT_EQ(replies.error().code, Errc::kUnavailable);
}

TEST_F(RedisClientTest, ConvertsEveryReplyType) {
  const auto key = unique_name("it-redis");
  auto pong = client_->command({"PING"});
  ASSERT_TRUE(pong.has_value()) << pong.error().message;
  EXPECT_EQ(*pong->string(), "PONG");

  EXPECT_TRUE(client_->command({"GET", key})->is_nil());
  const std::string binary("a\0b\r\nc", 6);
  EXPECT_EQ(*client_->command({"SET", key, binary, "PX", "60000"})->string(), "OK");
  EXPECT_EQ(*client_->command({"GET", key})->string(), binary);
  EXPECT_EQ(*client_->command({"INCR", key + ":n"})->integer(), 1);
  auto both = client_->command({"MGET", key, key + ":missing"});
  ASSERT_TRUE(both.has_value());
  ASSERT_NE(both->array(), nullptr);
  ASSERT_EQ(both->array()->size(), 2U);
  EXPECT_EQ(*(*both->array())[0].string(), binary);
  EXPECT_TRUE((*both->array())[1].is_nil());
  static_cast<void>(client_->command({"DEL", key, key + ":n"}));
}

TEST_F(RedisClientTest, ErrorRepliesAreValuesUntilRejected) {
  const auto key = unique_name("it-redis");
  ASSERT_TRUE(client_->command({"SET", key, "x", "PX", "60000"}).has_value());
  auto wrong_type = client_->command({"HGET", key, "field"});
  ASSERT_TRUE(wrong_type.has_value());
  ASSERT_TRUE(wrong_type->is_error());
  EXPECT_TRUE(wrong_type->error()->message.starts_with("WRONGTYPE"));
  auto rejected = reject_error_reply(std::move(wrong_type), "HGET");
  ASSERT_FALSE(rejected.has_value());
  EXPECT_EQ(rejected.error().code, Errc::kInternal);
  EXPECT_TRUE(client_->is_connected());  // an error reply leaves the connection usable
}

TEST_F(RedisClientTest, RefusedConnectionIsUnavailable) {
  RedisOptions options;
  options.host = "127.0.0.1";
  options.port = 1;  // nothing listens on tcpmux
  RedisClient client(options);
  auto reply = client.command({"PING"});
  ASSERT_FALSE(reply.has_value());
  EXPECT_EQ(reply.error().code, Errc::kUnavailable);
  EXPECT_NE(reply.error().message.find("127.0.0.1:1"), std::string::npos) << reply.error().message;
  EXPECT_FALSE(client.is_connected());
}

TEST_F(RedisClientTest, CommandTimeoutDropsTheConnectionAndTheNextCallReconnects) {
  auto options = options_;
  options.command_timeout = 100ms;
  RedisClient client(options);
  const auto started = std::chrono::steady_clock::now();
  auto blocked = client.command({"BLPOP", unique_name("it-redis-empty"), "2"});
  const auto waited = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(blocked.has_value());
  EXPECT_EQ(blocked.error().code, Errc::kUnavailable);
  EXPECT_NE(blocked.error().message.find("timed out"), std::string::npos)
      << blocked.error().message;
  EXPECT_LT(waited, 1500ms);
  EXPECT_FALSE(client.is_connected());
  auto pong = client.command({"PING"});
  ASSERT_TRUE(pong.has_value()) << pong.error().message;
  EXPECT_EQ(*pong->string(), "PONG");
}

TEST_F(RedisClientTest, KilledConnectionFailsOnceThenRecovers) {
  auto id = client_->command({"CLIENT", "ID"});
  ASSERT_TRUE(id.has_value());
  RedisClient killer(options_);
  auto killed = killer.command({"CLIENT", "KILL", "ID", std::to_string(*id->integer())});
  ASSERT_TRUE(killed.has_value());
  EXPECT_EQ(*killed->integer(), 1);

  auto broken = client_->command({"PING"});
  ASSERT_FALSE(broken.has_value());
  EXPECT_EQ(broken.error().code, Errc::kUnavailable);
  auto pong = client_->command({"PING"});
  ASSERT_TRUE(pong.has_value()) << pong.error().message;
}

TEST_F(RedisClientTest, WrongPasswordIsUnavailable) {
  auto options = options_;
  options.password = config::Secret("not-the-password");
  RedisClient client(options);
  auto connected = client.connect();
  ASSERT_FALSE(connected.has_value());
  EXPECT_EQ(connected.error().code, Errc::kUnavailable);
  EXPECT_EQ(connected.error().message.find("not-the-password"), std::string::npos);
}

TEST_F(RedisClientTest, RunScriptLoadsOnNoscriptAndMapsScriptErrors) {
  RedisScript script("echo", "return {KEYS[1], ARGV[1], 7}");
  ASSERT_TRUE(client_->command({"SCRIPT", "FLUSH"}).has_value());
  const std::string keys[] = {"k"};
  const std::string args[] = {"v"};
  auto raw = client_->eval_sha(script.sha(), keys, args);
  ASSERT_TRUE(raw.has_value());
  ASSERT_TRUE(raw->is_error());
  EXPECT_TRUE(raw->error()->message.starts_with("NOSCRIPT"));

  auto reply = client_->run_script(script, keys, args);
  ASSERT_TRUE(reply.has_value()) << reply.error().message;
  EXPECT_EQ(*reply, (RedisReply{RedisReply::Array{RedisReply{std::string("k")},
                                                  RedisReply{std::string("v")},
                                                  RedisReply{std::int64_t{7}}}}));
  auto loaded = client_->script_load(script.source());
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(*loaded, script.sha());

  RedisScript broken("broken", "return redis.call('NOPE')");
  auto failed = client_->run_script(broken, {}, {});
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().code, Errc::kInternal);
  EXPECT_NE(failed.error().message.find("EVALSHA broken"), std::string::npos)
      << failed.error().message;
}

}  // namespace
}  // namespace otp::redis
