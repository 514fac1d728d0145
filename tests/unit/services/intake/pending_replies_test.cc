#include "services/intake/pending_replies.h"

#include "tests/unit/services/intake/intake_fakes.h"

#include <gtest/gtest.h>

#include <vector>

namespace otp::intake {
namespace {

using namespace std::chrono_literals;
using messages::Outcome;
using messages::RequestKind;

const auto kStart = std::chrono::steady_clock::time_point(100s);

/// Records every result a request ended with.
struct Outcomes {
  std::vector<ReplyResult> results;
  ReplyCallback callback() {
    return [this](const ReplyResult& result) { results.push_back(result); };
  }
};

messages::Reply reply_for(const std::string& correlation_id) {
  auto reply = testing::make_reply(RequestKind::kSend, Outcome::kPending);
  reply.correlation_id = correlation_id;
  return reply;
}

TEST(PendingReplies, ReplyCompletesOnceAndLaterEventsAreIgnored) {
  PendingReplies pending;
  Outcomes outcomes;
  pending.add("c1", kStart + 3s, outcomes.callback());

  EXPECT_TRUE(pending.complete(reply_for("c1")));
  EXPECT_FALSE(pending.complete(reply_for("c1")));
  EXPECT_FALSE(pending.fail("c1", Error{Errc::kUnavailable, "late"}));
  pending.mark_published("c1");
  EXPECT_EQ(pending.expire_due(kStart + 1h), std::nullopt);

  ASSERT_EQ(outcomes.results.size(), 1U);
  ASSERT_TRUE(outcomes.results[0].has_value());
  EXPECT_EQ(outcomes.results[0]->correlation_id, "c1");
  EXPECT_EQ(pending.size(), 0U);
}

TEST(PendingReplies, UnknownReplyIsNotMatched) {
  PendingReplies pending;
  Outcomes outcomes;
  pending.add("c1", kStart + 3s, outcomes.callback());
  EXPECT_FALSE(pending.complete(reply_for("c2")));
  EXPECT_TRUE(outcomes.results.empty());
  EXPECT_EQ(pending.size(), 1U);
}

TEST(PendingReplies, DeadlineAfterAcknowledgementIsATimeout) {
  PendingReplies pending;
  Outcomes outcomes;
  pending.add("c1", kStart + 3s, outcomes.callback());
  pending.mark_published("c1");

  EXPECT_EQ(pending.expire_due(kStart + 2999ms), kStart + 3s);
  EXPECT_TRUE(outcomes.results.empty());
  EXPECT_EQ(pending.expire_due(kStart + 3s), std::nullopt);

  ASSERT_EQ(outcomes.results.size(), 1U);
  EXPECT_EQ(outcomes.results[0].error().code, Errc::kTimeout);
  EXPECT_FALSE(pending.complete(reply_for("c1")));  // a late reply changes nothing
  EXPECT_EQ(outcomes.results.size(), 1U);
}

TEST(PendingReplies, DeadlineBeforeAcknowledgementMeansNotPublished) {
  PendingReplies pending;
  Outcomes outcomes;
  pending.add("c1", kStart + 3s, outcomes.callback());
  pending.expire_due(kStart + 3s);
  ASSERT_EQ(outcomes.results.size(), 1U);
  EXPECT_EQ(outcomes.results[0].error().code, Errc::kUnavailable);
}

TEST(PendingReplies, ExpiresInDeadlineOrderAndReportsTheNextDeadline) {
  PendingReplies pending;
  std::vector<std::string> order;
  auto record = [&order](std::string name) {
    return [&order, name](const ReplyResult&) { order.push_back(name); };
  };
  pending.add("late", kStart + 5s, record("late"));
  pending.add("early", kStart + 1s, record("early"));
  pending.add("same", kStart + 1s, record("same"));

  EXPECT_EQ(pending.expire_due(kStart + 1s), kStart + 5s);
  EXPECT_EQ(order.size(), 2U);
  EXPECT_EQ(pending.size(), 1U);
  EXPECT_EQ(pending.expire_due(kStart + 10s), std::nullopt);
  EXPECT_EQ(order.back(), "late");
}

TEST(PendingReplies, FailEndsTheRequestAndRemovesItsDeadline) {
  PendingReplies pending;
  Outcomes outcomes;
  pending.add("c1", kStart + 1s, outcomes.callback());
  EXPECT_TRUE(pending.fail("c1", Error{Errc::kUnavailable, "broker down"}));
  EXPECT_EQ(pending.expire_due(kStart + 1h), std::nullopt);
  ASSERT_EQ(outcomes.results.size(), 1U);
  EXPECT_EQ(outcomes.results[0].error().message, "broker down");
}

TEST(PendingReplies, FailAllAnswersEverything) {
  PendingReplies pending;
  Outcomes outcomes;
  pending.add("c1", kStart + 1s, outcomes.callback());
  pending.add("c2", kStart + 2s, outcomes.callback());
  pending.fail_all(Error{Errc::kUnavailable, "shutting down"});
  EXPECT_EQ(outcomes.results.size(), 2U);
  EXPECT_EQ(pending.size(), 0U);
  EXPECT_EQ(pending.expire_due(kStart + 1h), std::nullopt);
}

TEST(PendingReplies, CallbacksMayCallBackIn) {
  PendingReplies pending;
  Outcomes outcomes;
  pending.add("c1", kStart + 1s, [&](const ReplyResult&) {
    pending.add("c2", kStart + 2s, outcomes.callback());  // would deadlock under the lock
  });
  EXPECT_TRUE(pending.complete(reply_for("c1")));
  EXPECT_EQ(pending.size(), 1U);
}

}  // namespace
}  // namespace otp::intake
