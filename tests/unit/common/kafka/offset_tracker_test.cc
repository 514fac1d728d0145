#include "common/kafka/offset_tracker.h"

#include <gtest/gtest.h>

namespace otp::kafka {
namespace {

const TopicPartition kP0{"t", 0};
const TopicPartition kP1{"t", 1};

TEST(OffsetTracker, RecordWithoutOutputsIsReadyAtOnce) {
  OffsetTracker tracker;
  tracker.begin(kP0, 7, 0);
  auto ready = tracker.take_ready();
  ASSERT_EQ(ready.size(), 1U);
  EXPECT_EQ(ready[0].first, kP0);
  EXPECT_EQ(ready[0].second, 8);
  EXPECT_TRUE(tracker.take_ready().empty());
}

TEST(OffsetTracker, OffsetWaitsForEveryOutputOfTheRecord) {
  OffsetTracker tracker;
  auto pending = tracker.begin(kP0, 3, 2);
  tracker.complete(*pending, {});
  EXPECT_TRUE(tracker.take_ready().empty());
  tracker.complete(*pending, {});
  auto ready = tracker.take_ready();
  ASSERT_EQ(ready.size(), 1U);
  EXPECT_EQ(ready[0].second, 4);
}

TEST(OffsetTracker, LaterRecordDoneFirstDoesNotSkipAnUnfinishedEarlierOne) {
  OffsetTracker tracker;
  auto first = tracker.begin(kP0, 10, 1);
  auto second = tracker.begin(kP0, 11, 1);
  tracker.complete(*second, {});
  EXPECT_TRUE(tracker.take_ready().empty()) << "offset 12 stored while 10 is unfinished";
  tracker.complete(*first, {});
  auto ready = tracker.take_ready();
  ASSERT_EQ(ready.size(), 1U);
  EXPECT_EQ(ready[0].second, 12);
}

TEST(OffsetTracker, PartitionsAdvanceIndependently) {
  OffsetTracker tracker;
  auto a = tracker.begin(kP0, 1, 1);
  tracker.begin(kP1, 5, 0);
  auto ready = tracker.take_ready();
  ASSERT_EQ(ready.size(), 1U);
  EXPECT_EQ(ready[0].first, kP1);
  EXPECT_EQ(tracker.in_flight(), 1U);
  tracker.complete(*a, {});
  EXPECT_EQ(tracker.take_ready().size(), 1U);
}

TEST(OffsetTracker, FailedOutputIsReportedAndItsOffsetNeverStored) {
  OffsetTracker tracker;
  auto pending = tracker.begin(kP0, 1, 1);
  tracker.complete(*pending, fail(Errc::kTimeout, "not acknowledged"));
  EXPECT_TRUE(tracker.take_ready().empty());
  ASSERT_TRUE(tracker.failure().has_value());
  EXPECT_EQ(tracker.failure()->code, Errc::kTimeout);
}

TEST(OffsetTracker, ForgetDropsRevokedPartitions) {
  OffsetTracker tracker;
  tracker.begin(kP0, 1, 1);
  tracker.forget({kP0});
  EXPECT_EQ(tracker.in_flight(), 0U);
}

}  // namespace
}  // namespace otp::kafka
