#pragma once

#include "common/crypto/hmac.h"
#include "common/time/clock.h"
#include "services/generator/code_store.h"

#include <map>
#include <string>

namespace otp::generator::testing {

/// A CodeStore with the semantics of the Redis scripts (lua/issue.lua, lua/check.lua), written
/// again in C++ so that stage tests need no Redis. Time comes from `clock` (Redis's TIME in
/// production). `set_unavailable(true)` makes every call fail as a Redis outage would;
/// `calls()` counts calls, to prove that a path never touched the store. Not thread-safe.
class InMemoryCodeStore final : public CodeStore {
 public:
  struct Verification {
    std::string tenant;
    std::string verification_id;
    std::string hmac;
    std::string key_id;
    messages::Status status = messages::Status::kPending;
    int attempts = 0;
    int max_attempts = 0;
    std::int64_t created_at_ms = 0;
    std::int64_t expires_at_ms = 0;
    messages::Channel channel = messages::Channel::kSms;
    int code_length = 0;
    crypto::Sealed sealed_code;
    std::map<std::string, CheckResult> answers;  ///< by request id
  };

  explicit InMemoryCodeStore(const Clock& clock) : clock_(clock) {}

  void set_unavailable(bool unavailable) { unavailable_ = unavailable; }
  [[nodiscard]] int calls() const { return calls_; }
  /// The stored verification, or nullptr.
  [[nodiscard]] const Verification* find(const std::string& tenant,
                                         const std::string& verification_id) const {
    auto index = index_.find(tenant + "|" + verification_id);
    if (index == index_.end()) return nullptr;
    auto it = verifications_.find(index->second.handle);
    return it == verifications_.end() ? nullptr : &it->second;
  }

  Result<IssuedCode> issue(const IssueRequest& request) override {
    if (auto down = enter(); !down) return tl::unexpected(down.error());
    const std::string vkey =
        request.tenant + "|" + request.recipient_hash + "|" + request.verification_id;
    const std::string index = request.tenant + "|" + request.verification_id;
    if (auto it = index_.find(index); it != index_.end() && it->second.handle != vkey) {
      return IssuedCode{.outcome = IssueOutcome::kConflict};
    }
    index_.emplace(index, CodeLocation{vkey, request.hmac_key_id});

    const std::string rkey =
        request.tenant + "|" + request.recipient_hash + "|" + request.request_id;
    if (auto prior = requests_.find(rkey); prior != requests_.end()) {
      if (prior->second != vkey) return IssuedCode{.outcome = IssueOutcome::kConflict};
      return stored(vkey, IssueOutcome::kReplayed);
    }
    if (verifications_.contains(vkey)) return IssuedCode{.outcome = IssueOutcome::kConflict};

    const auto now = to_unix_ms(clock_.now());
    verifications_[vkey] = Verification{.tenant = request.tenant,
                                        .verification_id = request.verification_id,
                                        .hmac = request.code_hmac,
                                        .key_id = request.hmac_key_id,
                                        .status = messages::Status::kPending,
                                        .attempts = 0,
                                        .max_attempts = request.max_attempts,
                                        .created_at_ms = now,
                                        .expires_at_ms = now + request.ttl.count(),
                                        .channel = request.channel,
                                        .code_length = request.code_length,
                                        .sealed_code = request.sealed_code,
                                        .answers = {}};
    requests_[rkey] = vkey;
    return stored(vkey, IssueOutcome::kCreated);
  }

  Result<std::optional<CodeLocation>> lookup(const std::string& tenant,
                                             const std::string& verification_id) override {
    if (auto down = enter(); !down) return tl::unexpected(down.error());
    auto it = index_.find(tenant + "|" + verification_id);
    if (it == index_.end()) return std::nullopt;
    return it->second;
  }

  Result<CheckResult> check(const CheckRequest& request) override {
    using messages::Outcome;
    using messages::Status;
    if (auto down = enter(); !down) return tl::unexpected(down.error());
    auto it = verifications_.find(request.location.handle);
    if (it == verifications_.end()) return CheckResult{.outcome = Outcome::kNotFound};
    Verification& v = it->second;
    if (auto answer = v.answers.find(request.request_id); answer != v.answers.end()) {
      return answer->second;
    }
    if (v.key_id != request.location.hmac_key_id) return fail(Errc::kInternal, "key mismatch");
    const auto now = to_unix_ms(clock_.now());
    auto answer = [&](Outcome outcome, bool counted, bool changed) {
      return CheckResult{.outcome = outcome,
                         .status = v.status,
                         .attempts_remaining = std::max(0, v.max_attempts - v.attempts),
                         .expires_at = from_unix_ms(v.expires_at_ms),
                         .checked_at = from_unix_ms(now),
                         .attempt_counted = counted,
                         .status_changed = changed};
    };
    switch (v.status) {
      case Status::kPending:
        break;
      case Status::kApproved:
        return answer(Outcome::kAlreadyVerified, false, false);
      case Status::kCanceled:
        return answer(Outcome::kCanceled, false, false);
      case Status::kMaxAttemptsReached:
        return answer(Outcome::kMaxAttemptsReached, false, false);
      case Status::kExpired:
      case Status::kFailed:
        return answer(Outcome::kExpired, false, false);
    }
    CheckResult result;
    if (now >= v.expires_at_ms) {
      v.status = Status::kExpired;
      result = answer(Outcome::kExpired, false, true);
    } else if (v.attempts >= v.max_attempts) {
      v.status = Status::kMaxAttemptsReached;
      result = answer(Outcome::kMaxAttemptsReached, false, true);
    } else {
      ++v.attempts;
      if (crypto::constant_time_equal(request.candidate_hmac, v.hmac)) {
        v.status = Status::kApproved;
        result = answer(Outcome::kApproved, true, true);
      } else if (v.attempts >= v.max_attempts) {
        v.status = Status::kMaxAttemptsReached;
        result = answer(Outcome::kMaxAttemptsReached, true, true);
      } else {
        result = answer(Outcome::kInvalidCode, true, false);
      }
    }
    v.answers[request.request_id] = result;
    return result;
  }

 private:
  Result<void> enter() {
    ++calls_;
    if (unavailable_)
      return fail(Errc::kUnavailable, "redis GET at 127.0.0.1:6379: timed out (fake)");
    return {};
  }

  IssuedCode stored(const std::string& vkey, IssueOutcome outcome) const {
    const Verification& v = verifications_.at(vkey);
    return IssuedCode{.outcome = outcome,
                      .verification_id = v.verification_id,
                      .channel = v.channel,
                      .code_length = v.code_length,
                      .max_attempts = v.max_attempts,
                      .sealed_code = v.sealed_code,
                      .created_at = from_unix_ms(v.created_at_ms),
                      .expires_at = from_unix_ms(v.expires_at_ms),
                      .status = v.status};
  }

  const Clock& clock_;
  bool unavailable_ = false;
  int calls_ = 0;
  std::map<std::string, Verification> verifications_;  ///< by verification key
  std::map<std::string, std::string> requests_;        ///< request key -> verification key
  std::map<std::string, CodeLocation> index_;          ///< tenant|vid -> location
};

}  // namespace otp::generator::testing
