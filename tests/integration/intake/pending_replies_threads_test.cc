// PendingReplies under real threads: the sweeper thread expiring deadlines while another thread
// completes replies and a third fails requests. Every request must end exactly once. Runs on wall
// clock time (tens of milliseconds), hence not a unit test; under the tsan preset it checks the
// locking.

#include "services/intake/pending_replies.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace otp::intake {
namespace {

using namespace std::chrono_literals;

TEST(PendingRepliesThreads, EveryRequestEndsExactlyOnce) {
  constexpr int kRequests = 3000;
  PendingReplies pending;
  std::vector<std::atomic<int>> ended(kRequests);
  std::atomic<int> replies{0};
  std::atomic<int> timeouts{0};
  std::atomic<int> failures{0};

  std::jthread sweeper([&pending](const std::stop_token& stop) { pending.run_expiry(stop); });
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRequests; ++i) {
    pending.add("c" + std::to_string(i), start + std::chrono::microseconds(7 * i),
                [&, i](const ReplyResult& result) {
                  ended[i].fetch_add(1);
                  if (result) {
                    replies.fetch_add(1);
                  } else if (result.error().code == Errc::kTimeout) {
                    timeouts.fetch_add(1);
                  } else {
                    failures.fetch_add(1);
                  }
                });
    if (i % 2 == 0) pending.mark_published("c" + std::to_string(i));
  }
  std::jthread replier([&pending] {
    for (int i = 0; i < kRequests; i += 3) {
      messages::Reply reply;
      reply.correlation_id = "c" + std::to_string(i);
      pending.complete(reply);
    }
  });
  std::jthread failer([&pending] {
    for (int i = 1; i < kRequests; i += 3) {
      pending.fail("c" + std::to_string(i), Error{Errc::kUnavailable, "broker down"});
    }
  });
  replier.join();
  failer.join();

  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (pending.size() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  sweeper.request_stop();
  sweeper.join();

  EXPECT_EQ(pending.size(), 0U);
  for (int i = 0; i < kRequests; ++i) EXPECT_EQ(ended[i].load(), 1) << "request " << i;
  EXPECT_EQ(replies + timeouts + failures, kRequests);
  EXPECT_GT(timeouts.load(), 0);
}

TEST(PendingRepliesThreads, AnEarlierDeadlineWakesTheSweeper) {
  PendingReplies pending;
  std::jthread sweeper([&pending](const std::stop_token& stop) { pending.run_expiry(stop); });
  std::atomic<bool> late_done{false};
  std::atomic<bool> early_done{false};
  const auto now = std::chrono::steady_clock::now();
  pending.add("late", now + 10s, [&](const ReplyResult&) { late_done = true; });
  std::this_thread::sleep_for(20ms);  // the sweeper now sleeps until +10 s
  pending.add("early", now + 50ms, [&](const ReplyResult&) { early_done = true; });

  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (!early_done && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_TRUE(early_done.load());
  EXPECT_LT(std::chrono::steady_clock::now() - now, 1s);
  EXPECT_FALSE(late_done.load());
  sweeper.request_stop();
  sweeper.join();
  EXPECT_EQ(pending.size(), 1U);
}

}  // namespace
}  // namespace otp::intake
