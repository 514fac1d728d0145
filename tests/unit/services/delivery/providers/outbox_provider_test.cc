#include "services/delivery/providers/outbox_provider.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace otp::delivery {
namespace {

class FixedClock final : public Clock {
 public:
  [[nodiscard]] TimePoint now() const override { return from_unix_ms(1'795'000'000'123); }
};

OutboundMessage sms(std::string job_id) {
  return OutboundMessage{.tenant = "acme",
                         .verification_id = "otp_0123456789abcdef0123456789abcdef",
                         .job_id = std::move(job_id),
                         .channel = "sms",
                         .to = "+14155550100",
                         .body = "Your code is 482913 \"quoted\"\n",
                         .subject = ""};
}

std::vector<nlohmann::json> read_lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

class OutboxProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("otp-outbox-" + std::to_string(::getpid()) + "-" + test->name() + ".jsonl");
    std::filesystem::remove(path_);
  }
  void TearDown() override { std::filesystem::remove(path_); }

  FixedClock clock_;
  std::filesystem::path path_;
};

TEST_F(OutboxProviderTest, AppendsOneJsonLinePerMessage) {
  OutboxProvider outbox(path_, clock_);

  auto first = outbox.send(sms("job-1"));
  auto second = outbox.send(sms("job-2"));

  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(first->provider, "outbox");
  EXPECT_NE(first->message_id, second->message_id);
  const auto lines = read_lines(path_);
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(lines[0]["time"], "2026-11-18T11:06:40.123Z");
  EXPECT_EQ(lines[0]["channel"], "sms");
  EXPECT_EQ(lines[0]["to"], "+14155550100");
  EXPECT_EQ(lines[0]["tenant"], "acme");
  EXPECT_EQ(lines[0]["verification_id"], "otp_0123456789abcdef0123456789abcdef");
  EXPECT_EQ(lines[0]["job_id"], "job-1");
  EXPECT_EQ(lines[0]["body"], "Your code is 482913 \"quoted\"\n");
  EXPECT_EQ(lines[0]["message_id"], first->message_id);
  EXPECT_EQ(lines[1]["job_id"], "job-2");
}

TEST_F(OutboxProviderTest, CreatesTheFileReadableByTheOwnerOnly) {
  OutboxProvider outbox(path_, clock_);
  struct stat info {};
  ASSERT_EQ(::stat(path_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777U, 0600U);
}

TEST_F(OutboxProviderTest, AppendsToAnExistingFileAndTightensItsMode) {
  { std::ofstream(path_) << R"({"earlier":true})" << '\n'; }
  std::filesystem::permissions(path_, std::filesystem::perms::owner_read |
                                          std::filesystem::perms::owner_write |
                                          std::filesystem::perms::others_read);

  OutboxProvider outbox(path_, clock_);
  ASSERT_TRUE(outbox.send(sms("job-1")).has_value());

  const auto lines = read_lines(path_);
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_TRUE(lines[0]["earlier"].get<bool>());
  struct stat info {};
  ASSERT_EQ(::stat(path_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777U, 0600U);
}

TEST_F(OutboxProviderTest, ConcurrentSendsWriteWholeLines) {
  OutboxProvider outbox(path_, clock_);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&outbox, t] {
      for (int i = 0; i < kPerThread; ++i) {
        ASSERT_TRUE(outbox.send(sms(std::to_string(t) + "-" + std::to_string(i))).has_value());
      }
    });
  }
  for (auto& thread : threads) thread.join();

  const auto lines = read_lines(path_);  // throws if any line is torn
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kThreads * kPerThread));
  std::set<std::string> ids;
  for (const auto& line : lines) ids.insert(line["message_id"].get<std::string>());
  EXPECT_EQ(ids.size(), lines.size());
}

TEST_F(OutboxProviderTest, ThrowsAtStartupWhenTheFileCannotBeOpened) {
  EXPECT_THROW(OutboxProvider(path_ / "no-such-dir" / "outbox.jsonl", clock_), std::system_error);
}

}  // namespace
}  // namespace otp::delivery
