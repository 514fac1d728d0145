#include "common/crypto/hmac.h"
#include "common/crypto/key_ring.h"
#include "common/error/check.h"
#include "services/generator/redis_code_store.h"
#include "tests/integration/generator/test_env.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <span>
#include <thread>

namespace otp::generator {
namespace {

using namespace std::chrono_literals;
using messages::Outcome;
using messages::Status;
using testing::redis_options_from_env;
using testing::unique_name;

constexpr char kHmacKeys[] = "h1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
constexpr char kCode[] = "424242";

class RedisCodeStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto options = redis_options_from_env();
    ASSERT_TRUE(options.has_value());
    options_ = *options;
    client_.emplace(options_);
    store_.emplace(*client_);
    ASSERT_TRUE(store_->load_scripts().has_value());
    tenant_ = unique_name("it-gen");
  }

  /// An issue request for a new verification of `tenant_`, for the code kCode.
  IssueRequest issue_request(const std::string& vid, const std::string& request_id,
                             std::chrono::milliseconds ttl = 600s) {
    return IssueRequest{.tenant = tenant_,
                        .verification_id = vid,
                        .request_id = request_id,
                        .recipient_hash = crypto::recipient_hash(key(), tenant_, "+14155552671"),
                        .code_hmac = hmac(vid, kCode),
                        .hmac_key_id = key().id,
                        .sealed_code = crypto::Sealed{"s1", "c2VhbGVk"},
                        .channel = messages::Channel::kSms,
                        .code_length = 6,
                        .max_attempts = 5,
                        .ttl = ttl,
                        .retention = 60s};
  }

  /// issue_request that also takes a token from the tenant's bucket (rate per second, burst).
  IssueRequest issue_with_token(const std::string& vid, const std::string& request_id, double rate,
                                int burst) {
    auto request = issue_request(vid, request_id);
    request.token = SendToken{.tenant = tenant_,
                              .recipient_hash = request.recipient_hash,
                              .request_id = request_id,
                              .rate_per_second = rate,
                              .burst = burst};
    return request;
  }

  std::string hmac(const std::string& vid, const std::string& code) const {
    return crypto::code_hmac(key(), tenant_, vid, code);
  }

  const crypto::Key& key() const { return keys_.active(); }

  /// Checks `code` against `vid` as request `request_id`, through lookup + check.
  Result<CheckResult> check(RedisCodeStore& store, const std::string& vid, const std::string& code,
                            const std::string& request_id) {
    auto location = store.lookup(tenant_, vid);
    if (!location) return tl::unexpected(location.error());
    if (!*location) return CheckResult{.outcome = Outcome::kNotFound};
    return store.check(CheckRequest{
        .location = **location, .candidate_hmac = hmac(vid, code), .request_id = request_id});
  }
  Result<CheckResult> check(const std::string& vid, const std::string& code,
                            const std::string& request_id) {
    return check(*store_, vid, code, request_id);
  }

  std::string field(const std::string& vid, const std::string& name) {
    auto reply =
        client_->command({"HGET",
                          RedisCodeStore::verification_key(
                              tenant_, crypto::recipient_hash(key(), tenant_, "+14155552671"), vid),
                          name});
    return reply && reply->string() ? *reply->string() : std::string("<none>");
  }

  static std::string vid(char fill) { return "otp_" + std::string(32, fill); }

  crypto::KeyRing keys_ = crypto::KeyRing::parse(kHmacKeys).value();
  redis::RedisOptions options_;
  std::optional<redis::RedisClient> client_;
  std::optional<RedisCodeStore> store_;
  std::string tenant_;
};

TEST_F(RedisCodeStoreTest, IssueStoresTheVerificationAndReplaysItUnchanged) {
  auto request = issue_request(vid('a'), "req-1");
  auto first = store_->issue(request);
  ASSERT_TRUE(first.has_value()) << first.error().message;
  EXPECT_EQ(first->outcome, IssueOutcome::kCreated);
  EXPECT_EQ(first->verification_id, vid('a'));
  EXPECT_EQ(first->status, Status::kPending);
  EXPECT_EQ(first->expires_at - first->created_at, 600s);
  EXPECT_LT(std::chrono::abs(first->created_at - std::chrono::system_clock::now()), 5s);
  EXPECT_EQ(first->sealed_code, (crypto::Sealed{"s1", "c2VhbGVk"}));

  // A replay with a different code (the stage draws a new one each time) changes nothing.
  request.code_hmac = hmac(vid('a'), "999999");
  request.sealed_code = crypto::Sealed{"s1", "b3RoZXI="};
  auto second = store_->issue(request);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->outcome, IssueOutcome::kReplayed);
  EXPECT_EQ(second->created_at, first->created_at);
  EXPECT_EQ(second->expires_at, first->expires_at);
  EXPECT_EQ(second->sealed_code, first->sealed_code);
  EXPECT_EQ(field(vid('a'), "hmac"), hmac(vid('a'), kCode));

  // Layout: hash fields, no code, TTL = ttl + retention on every key.
  EXPECT_EQ(field(vid('a'), "status"), "pending");
  EXPECT_EQ(field(vid('a'), "attempts"), "0");
  EXPECT_EQ(field(vid('a'), "key_id"), "h1");
  EXPECT_EQ(field(vid('a'), "code"), "<none>");
  const auto rh = crypto::recipient_hash(key(), tenant_, "+14155552671");
  for (const auto& name : {RedisCodeStore::verification_key(tenant_, rh, vid('a')),
                           RedisCodeStore::index_key(tenant_, vid('a')),
                           "otp:{" + tenant_ + ":" + rh + "}:req:req-1"}) {
    auto ttl = client_->command({"PTTL", name});
    ASSERT_TRUE(ttl.has_value());
    EXPECT_GT(*ttl->integer(), 655'000) << name;
    EXPECT_LE(*ttl->integer(), 660'000) << name;
  }
}

TEST_F(RedisCodeStoreTest, VerificationIdOrRequestIdReusedElsewhereIsAConflict) {
  ASSERT_EQ(store_->issue(issue_request(vid('b'), "req-1"))->outcome, IssueOutcome::kCreated);
  auto other_recipient = issue_request(vid('b'), "req-2");
  other_recipient.recipient_hash = crypto::recipient_hash(key(), tenant_, "+14155550000");
  EXPECT_EQ(store_->issue(other_recipient)->outcome, IssueOutcome::kConflict);
  EXPECT_EQ(store_->issue(issue_request(vid('b'), "req-3"))->outcome, IssueOutcome::kConflict);
  EXPECT_EQ(store_->issue(issue_request(vid('c'), "req-1"))->outcome, IssueOutcome::kConflict);
}

TEST_F(RedisCodeStoreTest, LookupIsScopedByTenant) {
  ASSERT_TRUE(store_->issue(issue_request(vid('d'), "req-1")).has_value());
  auto mine = store_->lookup(tenant_, vid('d'));
  ASSERT_TRUE(mine.has_value());
  ASSERT_TRUE(mine->has_value());
  EXPECT_EQ((*mine)->hmac_key_id, "h1");
  EXPECT_EQ(store_->lookup(tenant_ + "-other", vid('d')).value(), std::nullopt);
  EXPECT_EQ(store_->lookup(tenant_, vid('e')).value(), std::nullopt);
}

TEST_F(RedisCodeStoreTest, CorrectCodeApprovesOnceThenAlreadyVerified) {
  ASSERT_TRUE(store_->issue(issue_request(vid('a'), "req-1")).has_value());
  auto first = check(vid('a'), kCode, "check-1");
  ASSERT_TRUE(first.has_value()) << first.error().message;
  EXPECT_EQ(first->outcome, Outcome::kApproved);
  EXPECT_EQ(first->status, Status::kApproved);
  EXPECT_EQ(first->attempts_remaining, 4);
  EXPECT_TRUE(first->attempt_counted);
  EXPECT_TRUE(first->status_changed);
  auto second = check(vid('a'), kCode, "check-2");
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->outcome, Outcome::kAlreadyVerified);
  EXPECT_FALSE(second->attempt_counted);
  EXPECT_FALSE(second->status_changed);
  EXPECT_EQ(field(vid('a'), "attempts"), "1");
}

TEST_F(RedisCodeStoreTest, FiveWrongCodesExhaustTheAttemptsAndTheSixthIsRefused) {
  ASSERT_TRUE(store_->issue(issue_request(vid('a'), "req-1")).has_value());
  for (int i = 1; i <= 4; ++i) {
    auto result = check(vid('a'), "000000", "wrong-" + std::to_string(i));
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->outcome, Outcome::kInvalidCode);
    EXPECT_EQ(result->attempts_remaining, 5 - i);
  }
  auto fifth = check(vid('a'), "000000", "wrong-5");
  ASSERT_TRUE(fifth.has_value());
  EXPECT_EQ(fifth->outcome, Outcome::kMaxAttemptsReached);
  EXPECT_EQ(fifth->status, Status::kMaxAttemptsReached);
  EXPECT_TRUE(fifth->attempt_counted);
  EXPECT_TRUE(fifth->status_changed);
  auto sixth = check(vid('a'), kCode, "right-6");
  ASSERT_TRUE(sixth.has_value());
  EXPECT_EQ(sixth->outcome, Outcome::kMaxAttemptsReached);
  EXPECT_FALSE(sixth->attempt_counted);
  EXPECT_EQ(field(vid('a'), "attempts"), "5");
}

TEST_F(RedisCodeStoreTest, CodeExpiresByRedisClockAndStaysReadable) {
  ASSERT_TRUE(store_->issue(issue_request(vid('a'), "req-1", 300ms)).has_value());
  std::this_thread::sleep_for(400ms);
  auto late = check(vid('a'), kCode, "late-1");
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(late->outcome, Outcome::kExpired);
  EXPECT_EQ(late->status, Status::kExpired);
  EXPECT_TRUE(late->status_changed);
  EXPECT_FALSE(late->attempt_counted);
  EXPECT_EQ(field(vid('a'), "attempts"), "0");
  auto later = check(vid('a'), kCode, "late-2");
  ASSERT_TRUE(later.has_value());
  EXPECT_EQ(later->outcome, Outcome::kExpired);
  EXPECT_FALSE(later->status_changed);
}

TEST_F(RedisCodeStoreTest, RedeliveredRequestIdIsAnsweredFromMemoryNotCountedTwice) {
  ASSERT_TRUE(store_->issue(issue_request(vid('a'), "req-1")).has_value());
  auto first = check(vid('a'), "000000", "dup");
  auto second = check(vid('a'), "000000", "dup");
  // Even with the right code: the request id already has its answer.
  auto third = check(vid('a'), kCode, "dup");
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(second.has_value());
  ASSERT_TRUE(third.has_value());
  for (const auto* result : {&*second, &*third}) {
    EXPECT_EQ(result->outcome, first->outcome);
    EXPECT_EQ(result->attempts_remaining, first->attempts_remaining);
    EXPECT_EQ(result->checked_at, first->checked_at);
    EXPECT_EQ(result->attempt_counted, first->attempt_counted);
  }
  EXPECT_EQ(field(vid('a'), "attempts"), "1");
}

TEST_F(RedisCodeStoreTest, ParallelGuessesNeverGetMoreThanMaxAttemptsComparisons) {
  ASSERT_TRUE(store_->issue(issue_request(vid('a'), "req-1")).has_value());
  constexpr int kThreads = 8;
  constexpr int kGuessesPerThread = 25;  // 200 in all
  std::atomic<int> counted{0};
  std::atomic<int> invalid{0};
  std::atomic<int> refused{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      redis::RedisClient client(options_);  // one connection per thread
      RedisCodeStore store(client);
      for (int g = 0; g < kGuessesPerThread; ++g) {
        auto guess = std::to_string(100000 + t * 1000 + g);
        auto result =
            check(store, vid('a'), guess, "guess-" + std::to_string(t) + "-" + std::to_string(g));
        if (!result) {
          ++failures;
          continue;
        }
        if (result->attempt_counted) ++counted;
        if (result->outcome == Outcome::kInvalidCode) ++invalid;
        if (result->outcome == Outcome::kMaxAttemptsReached) ++refused;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(counted.load(), 5);
  EXPECT_EQ(invalid.load(), 4);
  EXPECT_EQ(refused.load(), 196);
  EXPECT_EQ(field(vid('a'), "attempts"), "5");
  EXPECT_EQ(field(vid('a'), "status"), "max_attempts_reached");
}

TEST_F(RedisCodeStoreTest, ScriptsAreReloadedAfterScriptFlush) {
  ASSERT_TRUE(client_->command({"SCRIPT", "FLUSH"}).has_value());
  auto issued = store_->issue(issue_request(vid('a'), "req-1"));
  ASSERT_TRUE(issued.has_value()) << issued.error().message;
  ASSERT_TRUE(client_->command({"SCRIPT", "FLUSH"}).has_value());
  auto checked = check(vid('a'), kCode, "check-1");
  ASSERT_TRUE(checked.has_value()) << checked.error().message;
  EXPECT_EQ(checked->outcome, Outcome::kApproved);
}

TEST_F(RedisCodeStoreTest, CheckWithAnotherKeyIdIsRefusedAsABug) {
  ASSERT_TRUE(store_->issue(issue_request(vid('a'), "req-1")).has_value());
  auto location = store_->lookup(tenant_, vid('a')).value().value();
  location.hmac_key_id = "h2";
  auto result = store_->check(CheckRequest{
      .location = location, .candidate_hmac = hmac(vid('a'), kCode), .request_id = "c"});
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, Errc::kInternal);
  EXPECT_EQ(field(vid('a'), "attempts"), "0");
}

// check.lua compares HMACs 8 hex digits at a time: a difference in any digit of any chunk, a
// different length or a non-hex candidate is a wrong code, and only the exact HMAC approves.
TEST_F(RedisCodeStoreTest, OnlyTheExactHmacApprovesWhateverDigitDiffers) {
  auto issue = issue_request(vid('a'), "req-1");
  issue.max_attempts = 11;
  ASSERT_EQ(store_->issue(issue).value().outcome, IssueOutcome::kCreated);
  const auto location = store_->lookup(tenant_, vid('a')).value().value();
  const std::string right = hmac(vid('a'), kCode);
  ASSERT_EQ(right.size(), 64U);
  auto flipped = [&](std::size_t at) {
    std::string wrong = right;
    wrong[at] = wrong[at] == '0' ? '1' : '0';
    return wrong;
  };
  auto uppercase = [](std::string text) {
    for (auto& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return text;
  };
  ASSERT_NE(uppercase(right), right);  // an HMAC without a letter: about 1 in 10^13
  const std::vector<std::string> candidates = {
      flipped(0), flipped(7), flipped(8), flipped(35), flipped(63), right.substr(0, 56),
      right + "00000000", std::string(64, 'z'), std::string(64, '0'),
      // The same digits in upper case: tonumber(s, 16) alone would read them as the right ones.
      uppercase(right)};
  int n = 0;
  for (const auto& candidate : candidates) {
    auto result = store_->check(CheckRequest{.location = location,
                                             .candidate_hmac = candidate,
                                             .request_id = "wrong-" + std::to_string(n++)});
    ASSERT_TRUE(result.has_value()) << result.error().message;
    EXPECT_EQ(result->outcome, Outcome::kInvalidCode) << "candidate " << candidate;
  }
  auto approved = store_->check(
      CheckRequest{.location = location, .candidate_hmac = right, .request_id = "right"});
  ASSERT_TRUE(approved.has_value()) << approved.error().message;
  EXPECT_EQ(approved->outcome, Outcome::kApproved);
  EXPECT_EQ(field(vid('a'), "attempts"), "11");
}

TEST_F(RedisCodeStoreTest, RedisDownIsUnavailableEverywhere) {
  redis::RedisOptions nowhere;
  nowhere.port = 1;
  redis::RedisClient client(nowhere);
  RedisCodeStore store(client);
  EXPECT_EQ(store.load_scripts().error().code, Errc::kUnavailable);
  EXPECT_EQ(store.issue(issue_request(vid('a'), "req-1")).error().code, Errc::kUnavailable);
  EXPECT_EQ(store.lookup(tenant_, vid('a')).error().code, Errc::kUnavailable);
  EXPECT_EQ(
      store.check(CheckRequest{.location = {"k", "h1"}, .candidate_hmac = "x", .request_id = "r"})
          .error()
          .code,
      Errc::kUnavailable);
}

TEST_F(RedisCodeStoreTest, SendsPerDestinationAreCappedInASlidingWindow) {
  auto limited = [&](char fill, const std::string& request_id) {
    auto request = issue_request(vid(fill), request_id);
    request.sends_per_window = 2;
    request.send_window = 60s;
    return store_->issue(request);
  };
  ASSERT_EQ(limited('a', "req-a").value().outcome, IssueOutcome::kCreated);
  ASSERT_EQ(limited('b', "req-b").value().outcome, IssueOutcome::kCreated);
  auto third = limited('c', "req-c");
  ASSERT_TRUE(third.has_value()) << third.error().message;
  EXPECT_EQ(third->outcome, IssueOutcome::kRateLimited);
  EXPECT_GT(third->retry_after, 55s);
  EXPECT_LE(third->retry_after, 60s);
  // Nothing of the refused send stays: no verification, no index.
  EXPECT_FALSE(store_->lookup(tenant_, vid('c')).value().has_value());
  EXPECT_EQ(field(vid('c'), "status"), "<none>");
  // Replays are not new sends.
  EXPECT_EQ(limited('a', "req-a").value().outcome, IssueOutcome::kReplayed);
}

TEST_F(RedisCodeStoreTest, ConsecutiveFailuresLockTheRecipientWithAGrowingLock) {
  auto guarded = [&](char fill, const std::string& code, const std::string& request_id) {
    auto location = store_->lookup(tenant_, vid(fill)).value();
    OTP_CHECK(location.has_value());
    return store_->check(CheckRequest{.location = *location,
                                      .candidate_hmac = hmac(vid(fill), code),
                                      .request_id = request_id,
                                      .failure_lock_threshold = 3,
                                      .lock_base = 1000ms,
                                      .lock_max = 10'000ms});
  };
  ASSERT_EQ(store_->issue(issue_request(vid('a'), "req-a")).value().outcome,
            IssueOutcome::kCreated);
  EXPECT_EQ(guarded('a', "000000", "c1").value().outcome, Outcome::kInvalidCode);
  EXPECT_EQ(guarded('a', "000000", "c2").value().outcome, Outcome::kInvalidCode);
  // A new verification for the same recipient keeps the count.
  ASSERT_EQ(store_->issue(issue_request(vid('b'), "req-b")).value().outcome,
            IssueOutcome::kCreated);
  EXPECT_EQ(guarded('b', "000000", "c3").value().outcome, Outcome::kInvalidCode);

  auto locked = guarded('b', kCode, "c4");
  ASSERT_TRUE(locked.has_value()) << locked.error().message;
  EXPECT_EQ(locked->outcome, Outcome::kRecipientLocked);
  EXPECT_FALSE(locked->attempt_counted);
  EXPECT_GT(locked->retry_after, 0ms);
  EXPECT_LE(locked->retry_after, 1000ms);
  EXPECT_EQ(field(vid('b'), "attempts"), "1");
  auto refused = store_->issue(issue_request(vid('c'), "req-c"));
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->outcome, IssueOutcome::kLocked);

  std::this_thread::sleep_for(1100ms);
  for (const char* id : {"c5", "c6", "c7"}) {
    EXPECT_EQ(guarded('b', "000000", id).value().outcome, Outcome::kInvalidCode);
  }
  auto longer = guarded('b', kCode, "c8").value();
  EXPECT_EQ(longer.outcome, Outcome::kRecipientLocked);
  EXPECT_GT(longer.retry_after, 1000ms);  // the second lock: 2 s

  std::this_thread::sleep_for(2100ms);
  EXPECT_EQ(guarded('b', kCode, "c9").value().outcome, Outcome::kApproved);
  auto fails = client_->command(
      {"EXISTS", RedisCodeStore::failures_key(
                     tenant_, crypto::recipient_hash(key(), tenant_, "+14155552671"))});
  ASSERT_TRUE(fails.has_value());
  EXPECT_EQ(*fails->integer(), 0);  // a success resets the count
}

TEST_F(RedisCodeStoreTest, TenantTokenBucketRefillsAtItsRateAndLetsReplaysThrough) {
  const auto rh = crypto::recipient_hash(key(), tenant_, "+14155552671");
  auto take = [&](const std::string& request_id) {
    return store_
        ->take_send_token({.tenant = tenant_,
                           .recipient_hash = rh,
                           .request_id = request_id,
                           .rate_per_second = 1,
                           .burst = 2})
        .value();
  };
  EXPECT_FALSE(take("req-a").has_value());
  ASSERT_EQ(store_->issue(issue_request(vid('a'), "req-a")).value().outcome,
            IssueOutcome::kCreated);
  EXPECT_FALSE(take("req-b").has_value());
  auto empty = take("req-c");
  ASSERT_TRUE(empty.has_value());
  EXPECT_GT(*empty, 0ms);
  EXPECT_LE(*empty, 1000ms);
  EXPECT_FALSE(take("req-a").has_value());  // issued before: a replay passes
  std::this_thread::sleep_for(1100ms);
  EXPECT_FALSE(take("req-c").has_value());
}

TEST_F(RedisCodeStoreTest, ChecksReportTheSubjectsFailuresAndTheLockTheyStart) {
  ASSERT_EQ(store_->issue(issue_request(vid('a'), "req-a"))->failures_at_issue, 0);
  auto location = store_->lookup(tenant_, vid('a')).value().value();
  auto wrong = [&](const std::string& request_id) {
    return store_
        ->check(CheckRequest{.location = location,
                             .candidate_hmac = hmac(vid('a'), "000000"),
                             .request_id = request_id,
                             .failure_lock_threshold = 2,
                             .lock_base = 1800s,
                             .lock_max = 1800s})
        .value();
  };
  auto first = wrong("c-1");
  EXPECT_EQ(first.failures, 1);
  EXPECT_EQ(first.lock_started, 0ms);
  // A new verification for the subject remembers the failures it started with.
  auto second = store_->issue(issue_request(vid('b'), "req-b"));
  ASSERT_TRUE(second.has_value()) << second.error().message;
  EXPECT_EQ(second->failures_at_issue, 1);
  EXPECT_EQ(store_->issue(issue_request(vid('b'), "req-b"))->failures_at_issue, 1);  // replay
  auto locking = wrong("c-2");
  EXPECT_EQ(locking.outcome, Outcome::kInvalidCode);
  EXPECT_EQ(locking.failures, 0);
  EXPECT_EQ(locking.lock_started, 1800s);
  EXPECT_EQ(wrong("c-2").lock_started, 1800s);  // a replay answers the same
  EXPECT_EQ(wrong("c-3").outcome, Outcome::kRecipientLocked);
}

TEST_F(RedisCodeStoreTest, IssueTakesTheTokenInTheSameRoundTripAndReleasesTheClaimOnRefusal) {
  auto with_token = [&](const std::string& vid_, const std::string& request_id) {
    return store_->issue(issue_with_token(vid_, request_id, 0.5, 1));
  };
  auto first = with_token(vid('a'), "req-a");
  ASSERT_TRUE(first.has_value()) << first.error().message;
  EXPECT_EQ(first->outcome, IssueOutcome::kCreated);
  auto refused = with_token(vid('b'), "req-b");
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->outcome, IssueOutcome::kTenantLimited);
  EXPECT_GT(refused->retry_after, 1000ms);
  EXPECT_LE(refused->retry_after, 2000ms);
  // Nothing stored, and the index claim is released.
  EXPECT_FALSE(store_->lookup(tenant_, vid('b')).value().has_value());
  EXPECT_EQ(field(vid('b'), "status"), "<none>");
  // A replay passes the empty bucket and gets its verification back.
  auto replay = with_token(vid('a'), "req-a");
  ASSERT_TRUE(replay.has_value());
  EXPECT_EQ(replay->outcome, IssueOutcome::kReplayed);
  EXPECT_EQ(replay->expires_at, first->expires_at);
  // After SCRIPT FLUSH the pipelined EVALSHA answers NOSCRIPT: reloaded, still one token.
  ASSERT_TRUE(client_->command({"SCRIPT", "FLUSH"}).has_value());
  std::this_thread::sleep_for(2100ms);
  auto after_flush = with_token(vid('c'), "req-c");
  ASSERT_TRUE(after_flush.has_value()) << after_flush.error().message;
  EXPECT_EQ(after_flush->outcome, IssueOutcome::kCreated);
  EXPECT_EQ(with_token(vid('d'), "req-d")->outcome, IssueOutcome::kTenantLimited);
}

// run_batch: two pipelined round trips for a whole batch, with the answers of one by one.
class RedisBatchTest : public RedisCodeStoreTest {
 protected:
  CheckByIdRequest by_id(const std::string& vid_, const std::string& code,
                         const std::string& request_id) {
    return CheckByIdRequest{.tenant = tenant_,
                            .verification_id = vid_,
                            .candidates = {{key().id, hmac(vid_, code)}},
                            .check = {.request_id = request_id}};
  }

  /// A sequence where each step depends on the ones before it.
  std::vector<BatchStep> dependent_steps() {
    auto reused = issue_request(vid('b'), "req-a");  // request id of another verification
    return {issue_with_token(vid('a'), "req-a", 1000, 1000),
            by_id(vid('a'), "000000", "chk-1"),
            issue_with_token(vid('a'), "req-a", 1000, 1000),  // replay
            reused,
            by_id(vid('a'), kCode, "chk-2"),
            by_id(vid('a'), "000000", "chk-1"),  // replayed check: stored answer, not counted
            by_id(vid('e'), kCode, "chk-3"),     // checked before it is issued: not found
            issue_request(vid('e'), "req-e"),
            by_id(vid('e'), kCode, "chk-4"),  // issued earlier in this batch: approved
            by_id(vid('f'), kCode, "chk-5")};
  }

  /// What must agree between two runs (times differ).
  static std::string summary(const Result<BatchAnswer>& answer) {
    if (!answer) return "error " + answer.error().message;
    if (const auto* issued = std::get_if<IssuedCode>(&*answer)) {
      return "issue " + std::to_string(static_cast<int>(issued->outcome)) + " " +
             issued->verification_id + " " + std::string(messages::to_string(issued->status));
    }
    const auto& checked = std::get<CheckedById>(*answer);
    if (!checked.location) return "check not_found";
    const auto& r = checked.result;
    return "check " + std::string(messages::to_string(r.outcome)) + " " +
           std::string(messages::to_string(r.status)) + " " + std::to_string(r.attempts_remaining) +
           " " + std::to_string(r.attempt_counted) + " " + std::to_string(r.status_changed);
  }
};

TEST_F(RedisBatchTest, ABatchAnswersAsTheSameStepsOneByOne) {
  const auto steps = dependent_steps();
  auto batch = store_->run_batch(steps);
  ASSERT_EQ(batch.size(), steps.size());

  tenant_ = unique_name("it-gen-seq");  // the same steps again, on fresh keys, one at a time
  const auto again = dependent_steps();
  std::vector<std::string> one_by_one;
  for (const auto& step : again) {
    one_by_one.push_back(summary(store_->run_batch(std::span<const BatchStep>(&step, 1)).front()));
  }
  for (std::size_t i = 0; i < steps.size(); ++i) {
    EXPECT_EQ(summary(batch[i]), one_by_one[i]) << "step " << i;
  }
  // And the sequence did what it says.
  const auto outcome = [&](std::size_t i) { return std::get<IssuedCode>(*batch[i]).outcome; };
  const auto checked = [&](std::size_t i) { return std::get<CheckedById>(*batch[i]); };
  EXPECT_EQ(outcome(0), IssueOutcome::kCreated);
  EXPECT_EQ(checked(1).result.outcome, Outcome::kInvalidCode);
  EXPECT_EQ(outcome(2), IssueOutcome::kReplayed);
  EXPECT_EQ(outcome(3), IssueOutcome::kConflict);
  EXPECT_EQ(checked(4).result.outcome, Outcome::kApproved);
  EXPECT_EQ(checked(4).result.attempts_remaining, 3);
  EXPECT_EQ(checked(5).result.outcome, Outcome::kInvalidCode);
  EXPECT_FALSE(checked(6).location.has_value());
  EXPECT_EQ(outcome(7), IssueOutcome::kCreated);
  EXPECT_EQ(checked(8).result.outcome, Outcome::kApproved);
  EXPECT_FALSE(checked(9).location.has_value());
}

TEST_F(RedisBatchTest, TheVerificationsKeyPicksTheCandidateAndAMissingKeyFailsOnlyItsStep) {
  auto request = issue_request(vid('a'), "req-a");
  request.hmac_key_id = "h0";  // issued under a key that is no longer active
  ASSERT_TRUE(store_->issue(request).has_value());
  auto right = by_id(vid('a'), kCode, "chk-1");
  right.candidates = {{"h1", hmac(vid('a'), "999999")}, {"h0", hmac(vid('a'), kCode)}};
  auto missing = by_id(vid('a'), kCode, "chk-2");  // only an h1 candidate
  ASSERT_TRUE(store_->issue(issue_request(vid('b'), "req-b")).has_value());
  const std::vector<BatchStep> steps{missing, by_id(vid('b'), kCode, "chk-3"), right};
  auto answers = store_->run_batch(steps);
  ASSERT_FALSE(answers[0].has_value());
  EXPECT_EQ(answers[0].error().code, Errc::kInternal);
  ASSERT_TRUE(answers[1].has_value()) << answers[1].error().message;
  EXPECT_EQ(std::get<CheckedById>(*answers[1]).result.outcome, Outcome::kApproved);
  ASSERT_TRUE(answers[2].has_value()) << answers[2].error().message;
  EXPECT_EQ(std::get<CheckedById>(*answers[2]).result.outcome, Outcome::kApproved);
  EXPECT_EQ(std::get<CheckedById>(*answers[2]).result.attempts_remaining, 4);
}

TEST_F(RedisBatchTest, AfterScriptFlushTheWholeBatchRunsOnce) {
  ASSERT_TRUE(store_->issue(issue_request(vid('a'), "req-a")).has_value());
  ASSERT_TRUE(client_->command({"SCRIPT", "FLUSH"}).has_value());
  auto wrong = by_id(vid('a'), "000000", "chk-1");
  const std::vector<BatchStep> steps{wrong, issue_request(vid('b'), "req-b"),
                                     by_id(vid('b'), kCode, "chk-2")};
  auto answers = store_->run_batch(steps);
  for (const auto& answer : answers) ASSERT_TRUE(answer.has_value()) << answer.error().message;
  EXPECT_EQ(std::get<CheckedById>(*answers[0]).result.outcome, Outcome::kInvalidCode);
  EXPECT_EQ(std::get<IssuedCode>(*answers[1]).outcome, IssueOutcome::kCreated);
  EXPECT_EQ(std::get<CheckedById>(*answers[2]).result.outcome, Outcome::kApproved);
  // The wrong guess was counted once, not once per attempt at running it.
  EXPECT_EQ(field(vid('a'), "attempts"), "1");
}

TEST_F(RedisBatchTest, OneBucketCallGrantsTheTenantsTokensToItsFirstSendsInOrder) {
  auto with_token = [&](const std::string& vid_, const std::string& request_id) {
    return issue_with_token(vid_, request_id, 0.5, 3);
  };
  ASSERT_TRUE(store_->issue(with_token(vid('a'), "req-a")).has_value());  // 2 tokens left
  const std::vector<BatchStep> steps{with_token(vid('b'), "req-b"), with_token(vid('c'), "req-c"),
                                     with_token(vid('d'), "req-d"),
                                     with_token(vid('a'), "req-a"),  // a replay: passes
                                     with_token(vid('e'), "req-e")};
  auto answers = store_->run_batch(steps);
  std::vector<IssueOutcome> outcomes;
  for (const auto& answer : answers) {
    ASSERT_TRUE(answer.has_value()) << answer.error().message;
    outcomes.push_back(std::get<IssuedCode>(*answer).outcome);
  }
  EXPECT_EQ(outcomes,
            (std::vector<IssueOutcome>{IssueOutcome::kCreated, IssueOutcome::kCreated,
                                       IssueOutcome::kTenantLimited, IssueOutcome::kReplayed,
                                       IssueOutcome::kTenantLimited}));
  EXPECT_GT(std::get<IssuedCode>(*answers[2]).retry_after, 0ms);
  EXPECT_FALSE(store_->lookup(tenant_, vid('d')).value().has_value());  // claim released
}

TEST_F(RedisBatchTest, RedisDownFailsEveryStepAsUnavailable) {
  redis::RedisOptions nowhere;
  nowhere.port = 1;
  redis::RedisClient client(nowhere);
  RedisCodeStore store(client);
  const std::vector<BatchStep> steps{issue_request(vid('a'), "req-a"),
                                     by_id(vid('a'), kCode, "chk-1")};
  auto answers = store.run_batch(steps);
  ASSERT_EQ(answers.size(), 2U);
  for (const auto& answer : answers) {
    ASSERT_FALSE(answer.has_value());
    EXPECT_EQ(answer.error().code, Errc::kUnavailable);
  }
}

// Resend and cancel (lua/resend.lua, lua/cancel.lua) against the test Redis.
class RedisResendTest : public RedisCodeStoreTest {
 protected:
  ResendRequest resend_request(const std::string& vid, const std::string& request_id, bool new_code,
                               const std::string& code = "") {
    return ResendRequest{.tenant = tenant_,
                         .verification_id = vid,
                         .request_id = request_id,
                         .recipient_hash = crypto::recipient_hash(key(), tenant_, "+14155552671"),
                         .new_code = new_code,
                         .code_hmac = new_code ? hmac(vid, code) : std::string(),
                         .sealed_code = new_code ? crypto::Sealed{"s1", "bmV3"} : crypto::Sealed{},
                         .ttl = 600s,
                         .retention = 60s,
                         .cooldown = 0ms,
                         .sends_per_window = 5,
                         .send_window = 600s};
  }
  CancelRequest cancel_request(const std::string& vid, const std::string& request_id) {
    return CancelRequest{.tenant = tenant_,
                         .verification_id = vid,
                         .request_id = request_id,
                         .recipient_hash = crypto::recipient_hash(key(), tenant_, "+14155552671")};
  }
};

TEST_F(RedisResendTest, PolicyNewRevokesTheOldCodeAndTheNewOneApproves) {
  ASSERT_TRUE(store_->issue(issue_request(vid('a'), "req-1")).has_value());
  ASSERT_EQ(check(vid('a'), "000000", "c-0")->outcome, Outcome::kInvalidCode);
  auto resent = store_->resend(resend_request(vid('a'), "rs-1", true, "135790"));
  ASSERT_TRUE(resent.has_value()) << resent.error().message;
  EXPECT_EQ(resent->outcome, ResendOutcome::kResent);
  EXPECT_EQ(resent->send_number, 2);
  EXPECT_EQ(resent->sealed_code, (crypto::Sealed{"s1", "bmV3"}));
  EXPECT_EQ(resent->attempts_remaining, 4);  // attempts already used stay used
  EXPECT_EQ(resent->expires_at - resent->sent_at, 600s);
  EXPECT_EQ(field(vid('a'), "attempts"), "1");

  // A replay answers the same, even with another code, and sends nothing more.
  auto replay = store_->resend(resend_request(vid('a'), "rs-1", true, "246802"));
  ASSERT_TRUE(replay.has_value());
  EXPECT_EQ(replay->outcome, ResendOutcome::kReplayed);
  EXPECT_EQ(replay->send_number, 2);
  EXPECT_EQ(replay->sent_at, resent->sent_at);
  EXPECT_EQ(replay->sealed_code, resent->sealed_code);
  EXPECT_EQ(field(vid('a'), "sends"), "2");

  EXPECT_EQ(check(vid('a'), kCode, "c-1")->outcome, Outcome::kInvalidCode);
  EXPECT_EQ(check(vid('a'), "135790", "c-2")->outcome, Outcome::kApproved);
}

TEST_F(RedisResendTest, PolicyNewKeepsTheVerificationsOwnLengthAndTtl) {
  // Issued with 6 digits and a 120 s TTL (a send's override); the tenant's resend says 600 s.
  auto issued = store_->issue(issue_request(vid('l'), "req-1", 120s));
  ASSERT_TRUE(issued.has_value());
  auto wrong = resend_request(vid('l'), "rs-1", true, "12345678");
  wrong.code_length = 8;
  auto refused = store_->resend(wrong);
  ASSERT_TRUE(refused.has_value()) << refused.error().message;
  EXPECT_EQ(refused->outcome, ResendOutcome::kWrongLength);
  EXPECT_EQ(refused->code_length, 6);
  EXPECT_EQ(field(vid('l'), "sends"), "<none>");  // nothing changed: still the first send
  auto right = resend_request(vid('l'), "rs-2", true, "135790");
  right.code_length = 6;
  auto resent = store_->resend(right);
  ASSERT_TRUE(resent.has_value()) << resent.error().message;
  ASSERT_EQ(resent->outcome, ResendOutcome::kResent);
  EXPECT_EQ(resent->expires_at - resent->sent_at, 120s);
  EXPECT_EQ(check(vid('l'), "135790", "c-1")->outcome, Outcome::kApproved);
}

TEST_F(RedisResendTest, PolicySameResendsTheStoredSealedCode) {
  auto issued = store_->issue(issue_request(vid('b'), "req-1"));
  ASSERT_TRUE(issued.has_value());
  auto resent = store_->resend(resend_request(vid('b'), "rs-1", false));
  ASSERT_TRUE(resent.has_value()) << resent.error().message;
  EXPECT_EQ(resent->outcome, ResendOutcome::kResent);
  EXPECT_EQ(resent->sealed_code, issued->sealed_code);
  EXPECT_EQ(resent->expires_at, issued->expires_at);
  EXPECT_EQ(check(vid('b'), kCode, "c-1")->outcome, Outcome::kApproved);
  // Settled: no more resends.
  auto late = store_->resend(resend_request(vid('b'), "rs-2", false));
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(late->outcome, ResendOutcome::kNotPending);
  EXPECT_EQ(late->status, Status::kApproved);
}

TEST_F(RedisResendTest, CooldownAndSendsPerDestinationRefuse) {
  ASSERT_TRUE(store_->issue(issue_request(vid('c'), "req-1")).has_value());
  auto request = resend_request(vid('c'), "rs-1", false);
  request.cooldown = 60s;
  auto early = store_->resend(request);
  ASSERT_TRUE(early.has_value());
  EXPECT_EQ(early->outcome, ResendOutcome::kCooldown);
  EXPECT_GT(early->retry_after, 55s);
  EXPECT_LE(early->retry_after, 60s);

  auto limited = resend_request(vid('c'), "rs-2", false);
  limited.sends_per_window = 2;
  ASSERT_EQ(store_->resend(limited)->outcome, ResendOutcome::kResent);
  limited.request_id = "rs-3";
  auto refused = store_->resend(limited);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->outcome, ResendOutcome::kRateLimited);
  EXPECT_GT(refused->retry_after, 590s);
  EXPECT_EQ(field(vid('c'), "sends"), "2");

  auto unknown = store_->resend(resend_request(vid('d'), "rs-1", false));
  ASSERT_TRUE(unknown.has_value());
  EXPECT_EQ(unknown->outcome, ResendOutcome::kNotFound);
}

TEST_F(RedisResendTest, CancelThenVerifyAnswersCanceledAndIsIdempotent) {
  ASSERT_TRUE(store_->issue(issue_request(vid('e'), "req-1")).has_value());
  auto canceled = store_->cancel(cancel_request(vid('e'), "cx-1"));
  ASSERT_TRUE(canceled.has_value()) << canceled.error().message;
  EXPECT_EQ(canceled->outcome, CancelOutcome::kCanceled);
  EXPECT_EQ(canceled->status, Status::kCanceled);
  EXPECT_EQ(field(vid('e'), "status"), "canceled");

  auto replay = store_->cancel(cancel_request(vid('e'), "cx-1"));
  ASSERT_TRUE(replay.has_value());
  EXPECT_EQ(replay->outcome, CancelOutcome::kCanceled);
  EXPECT_EQ(replay->at, canceled->at);
  auto again = store_->cancel(cancel_request(vid('e'), "cx-2"));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->outcome, CancelOutcome::kUnchanged);
  EXPECT_EQ(again->status, Status::kCanceled);

  auto checked = check(vid('e'), kCode, "c-1");
  ASSERT_TRUE(checked.has_value());
  EXPECT_EQ(checked->outcome, Outcome::kCanceled);
  EXPECT_EQ(checked->status, Status::kCanceled);
  EXPECT_EQ(store_->resend(resend_request(vid('e'), "rs-1", false))->outcome,
            ResendOutcome::kNotPending);
  EXPECT_EQ(store_->cancel(cancel_request(vid('f'), "cx-1"))->outcome, CancelOutcome::kNotFound);
}

TEST_F(RedisResendTest, ByIdAloneStatusResendAndCancelFindTheVerification) {
  auto request = issue_request(vid('g'), "req-1");
  request.sealed_recipient = crypto::Sealed{"s1", "cmVjaXBpZW50"};
  auto issued = store_->issue(request);
  ASSERT_TRUE(issued.has_value()) << issued.error().message;
  ASSERT_TRUE(issued->window.has_value());
  EXPECT_EQ(issued->window->used, 1);
  EXPECT_GT(issued->window->reset, 590s);
  EXPECT_LE(issued->window->reset, 600s);
  auto replayed = store_->issue(request);
  ASSERT_TRUE(replayed.has_value());
  EXPECT_EQ(replayed->window, issued->window);  // as at creation
  const auto rh = crypto::recipient_hash(key(), tenant_, "+14155552671");
  EXPECT_EQ(store_->current(tenant_, rh).value(), std::optional<std::string>(vid('g')));
  EXPECT_EQ(store_->current(tenant_, "ffff").value(), std::nullopt);

  auto location = store_->lookup(tenant_, vid('g'));
  ASSERT_TRUE(location.has_value() && location->has_value());
  EXPECT_EQ((*location)->sealed_recipient, (crypto::Sealed{"s1", "cmVjaXBpZW50"}));
  EXPECT_EQ((*location)->channel, messages::Channel::kSms);
  EXPECT_EQ((*location)->hmac_key_id, key().id);

  const StatusRequest by_id{.tenant = tenant_,
                            .verification_id = vid('g'),
                            .recipient_hash = "",
                            .handle = (*location)->handle};
  auto state = store_->status(by_id);
  ASSERT_TRUE(state.has_value()) << state.error().message;
  EXPECT_TRUE(state->found);
  EXPECT_EQ(state->status, Status::kPending);
  EXPECT_EQ(state->attempts_remaining, 5);
  EXPECT_EQ(state->expires_at, issued->expires_at);
  EXPECT_EQ(state->channel, messages::Channel::kSms);
  ASSERT_EQ(check(vid('g'), "000000", "c-1")->outcome, Outcome::kInvalidCode);
  EXPECT_EQ(store_->status(by_id)->attempts_remaining, 4);
  EXPECT_EQ(field(vid('g'), "attempts"), "1");  // status counted nothing

  auto resend = resend_request(vid('g'), "rs-1", false);
  resend.recipient_hash.clear();
  resend.handle = (*location)->handle;
  auto resent = store_->resend(resend);
  ASSERT_TRUE(resent.has_value()) << resent.error().message;
  EXPECT_EQ(resent->outcome, ResendOutcome::kResent);
  ASSERT_TRUE(resent->window.has_value());
  EXPECT_EQ(resent->window->used, 2);
  EXPECT_EQ(store_->resend(resend)->window, resent->window);  // a replay: the same numbers

  auto cancel = cancel_request(vid('g'), "cx-1");
  cancel.recipient_hash.clear();
  cancel.handle = (*location)->handle;
  EXPECT_EQ(store_->cancel(cancel)->outcome, CancelOutcome::kCanceled);
  EXPECT_EQ(store_->status(by_id)->status, Status::kCanceled);

  // Another recipient's hash does not reach it; an unknown handle is not found.
  auto other = by_id;
  other.recipient_hash = crypto::recipient_hash(key(), tenant_, "+14155550000");
  EXPECT_FALSE(store_->status(other)->found);
  other.recipient_hash.clear();
  other.handle = RedisCodeStore::verification_key(tenant_, "ffff", vid('g'));
  EXPECT_FALSE(store_->status(other)->found);
}

TEST_F(RedisResendTest, StatusReadsAnExpiredCodeAsExpiredWithoutWriting) {
  ASSERT_TRUE(store_->issue(issue_request(vid('h'), "req-1", 1s)).has_value());
  std::this_thread::sleep_for(1100ms);
  auto location = store_->lookup(tenant_, vid('h')).value();
  ASSERT_TRUE(location.has_value());
  auto state = store_->status({.tenant = tenant_,
                               .verification_id = vid('h'),
                               .recipient_hash = "",
                               .handle = location->handle});
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->status, Status::kExpired);
  EXPECT_EQ(field(vid('h'), "status"), "pending");
}

TEST_F(RedisResendTest, IndexWrittenBeforeTheRecipientWasKeptStillResolves) {
  ASSERT_TRUE(store_->issue(issue_request(vid('i'), "req-1")).has_value());
  auto location = store_->lookup(tenant_, vid('i')).value();
  ASSERT_TRUE(location.has_value());
  EXPECT_FALSE(location->sealed_recipient.has_value());
  EXPECT_FALSE(location->channel.has_value());
  EXPECT_EQ(check(vid('i'), kCode, "c-1")->outcome, Outcome::kApproved);
}

}  // namespace
}  // namespace otp::generator
