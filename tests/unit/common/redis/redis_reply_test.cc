#include "common/redis/redis_reply.h"

#include "common/redis/redis_script.h"

#include <gtest/gtest.h>

namespace otp::redis {
namespace {

TEST(RedisReply, AccessorsMatchTheAlternative) {
  RedisReply nil{RedisNil{}};
  RedisReply number{std::int64_t{42}};
  RedisReply text{std::string("OK")};
  RedisReply array{RedisReply::Array{number, text}};
  RedisReply error{RedisErrorReply{"ERR nope"}};
  EXPECT_TRUE(nil.is_nil());
  EXPECT_EQ(nil.string(), nullptr);
  EXPECT_EQ(*number.integer(), 42);
  EXPECT_EQ(number.string(), nullptr);
  EXPECT_EQ(*text.string(), "OK");
  ASSERT_NE(array.array(), nullptr);
  EXPECT_EQ(array.array()->at(1), text);
  EXPECT_TRUE(error.is_error());
  EXPECT_EQ(error.error()->message, "ERR nope");
  EXPECT_FALSE(text.is_error());
}

TEST(RedisReply, TransientServerStatesAreRetryableOthersAreBugs) {
  for (const char* transient :
       {"LOADING Redis is loading the dataset in memory", "BUSY Redis is busy running a script",
        "MASTERDOWN Link with MASTER is down", "TRYAGAIN Multiple keys request during rehashing",
        "CLUSTERDOWN The cluster is down", "READONLY You can't write against a read only replica.",
        "MOVED 3999 127.0.0.1:6381", "ASK 3999 127.0.0.1:6381"}) {
    auto error = to_error(RedisErrorReply{transient}, "EVALSHA check");
    EXPECT_EQ(error.code, Errc::kUnavailable) << transient;
    EXPECT_TRUE(error.is_retryable());
  }
  for (const char* bug : {"ERR Error running script", "WRONGTYPE Operation against a key",
                          "NOSCRIPT No matching script", "BUSYGROUP exists", "ASKING"}) {
    EXPECT_EQ(to_error(RedisErrorReply{bug}, "X").code, Errc::kInternal) << bug;
  }
  auto error = to_error(RedisErrorReply{"ERR boom"}, "EVALSHA issue");
  EXPECT_EQ(error.message, "redis EVALSHA issue: ERR boom");
}

TEST(RedisReply, RejectErrorReplyPassesValuesAndErrorsThrough) {
  auto ok = reject_error_reply(RedisReply{std::string("OK")}, "SET");
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok->string(), "OK");
  auto refused = reject_error_reply(RedisReply{RedisErrorReply{"ERR x"}}, "SET");
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, Errc::kInternal);
  auto down = reject_error_reply(tl::unexpected(Error{Errc::kUnavailable, "down"}), "SET");
  ASSERT_FALSE(down.has_value());
  EXPECT_EQ(down.error().code, Errc::kUnavailable);
}

TEST(RedisScript, ShaIsTheOneRedisComputes) {
  // The documented SHA-1 of "return 1" (Redis EVALSHA docs).
  RedisScript script("one", "return 1");
  EXPECT_EQ(script.sha(), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
  EXPECT_EQ(script.name(), "one");
  EXPECT_EQ(script.source(), "return 1");
}

}  // namespace
}  // namespace otp::redis
