#pragma once

#include "common/crypto/hmac.h"
#include "common/time/clock.h"
#include "services/generator/code_store.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace otp::generator::testing {

/// A CodeStore with the semantics of the Redis scripts (lua/issue.lua, check.lua, bucket.lua,
/// resend.lua, cancel.lua),
/// written again in C++ so that stage tests need no Redis. Time comes from `clock` (Redis's TIME in
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
    std::string subject;                         ///< tenant|recipient hash
    std::int64_t sent_at_ms = 0;                 ///< the last send (0: created_at_ms)
    int sends = 1;
    std::map<std::string, ResentCode> resent;      ///< resend answers by request id
    std::map<std::string, CancelResult> canceled;  ///< cancel answers by request id
    SendWindow window;                             ///< as the issue left it
    int failures_at_issue = 0;
    std::int64_t ttl_ms = 0;  ///< the lifetime given at issue
  };

  /// A tenant + recipient's consecutive failures and lock (otp:{t:rh}:fails).
  struct Failures {
    int n = 0;
    int locks = 0;
    std::int64_t until_ms = 0;
  };

  explicit InMemoryCodeStore(const Clock& clock) : clock_(clock) {}

  void set_unavailable(bool unavailable) { unavailable_ = unavailable; }
  [[nodiscard]] const Failures* failures(const std::string& tenant,
                                         const std::string& recipient_hash) const {
    auto it = failures_.find(tenant + "|" + recipient_hash);
    return it == failures_.end() ? nullptr : &it->second;
  }
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
    if (request.token) {
      // As the Redis store: the token first (a replay passes an empty bucket), then the issue.
      auto wait = take_send_token(*request.token);
      if (!wait) return tl::unexpected(wait.error());
      if (*wait) return IssuedCode{.outcome = IssueOutcome::kTenantLimited, .retry_after = **wait};
    }
    if (auto down = enter(); !down) return tl::unexpected(down.error());
    const std::string vkey =
        request.tenant + "|" + request.recipient_hash + "|" + request.verification_id;
    const std::string index = request.tenant + "|" + request.verification_id;
    if (auto it = index_.find(index); it != index_.end() && it->second.handle != vkey) {
      return IssuedCode{.outcome = IssueOutcome::kConflict};
    }
    CodeLocation location{.handle = vkey, .hmac_key_id = request.hmac_key_id};
    if (!request.sealed_recipient.key_id.empty()) {
      location.sealed_recipient = request.sealed_recipient;
      location.channel = request.channel;
    }
    index_.emplace(index, std::move(location));

    const std::string rkey =
        request.tenant + "|" + request.recipient_hash + "|" + request.request_id;
    if (auto prior = requests_.find(rkey); prior != requests_.end()) {
      if (prior->second != vkey) return IssuedCode{.outcome = IssueOutcome::kConflict};
      return stored(vkey, IssueOutcome::kReplayed);
    }
    if (verifications_.contains(vkey)) return IssuedCode{.outcome = IssueOutcome::kConflict};

    const auto now = to_unix_ms(clock_.now());
    const std::string subject = request.tenant + "|" + request.recipient_hash;
    const auto known_failures = failures_.find(subject);
    const int failures_at_issue = known_failures == failures_.end() ? 0 : known_failures->second.n;
    const auto release = [&] {
      if (index_.at(index).handle == vkey && !verifications_.contains(vkey)) index_.erase(index);
    };
    if (auto f = failures_.find(subject); f != failures_.end() && f->second.until_ms > now) {
      release();
      return IssuedCode{.outcome = IssueOutcome::kLocked,
                        .retry_after = std::chrono::milliseconds(f->second.until_ms - now)};
    }
    auto& sends = sends_[subject];
    const auto window = request.send_window.count();
    std::erase_if(sends, [&](std::int64_t at) { return at <= now - window; });
    if (static_cast<int>(sends.size()) >= request.sends_per_window) {
      release();
      return IssuedCode{.outcome = IssueOutcome::kRateLimited,
                        .retry_after = std::chrono::milliseconds(
                            *std::min_element(sends.begin(), sends.end()) + window - now)};
    }
    sends.push_back(now);
    const SendWindow issued_window{
        .used = static_cast<int>(sends.size()),
        .reset = std::chrono::milliseconds(*std::min_element(sends.begin(), sends.end()) + window -
                                           now)};
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
                                        .answers = {},
                                        .subject = subject,
                                        .sent_at_ms = 0,
                                        .sends = 1,
                                        .resent = {},
                                        .canceled = {},
                                        .window = issued_window,
                                        .failures_at_issue = failures_at_issue,
                                        .ttl_ms = request.ttl.count()};
    requests_[rkey] = vkey;
    current_[subject] = request.verification_id;
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
    std::int64_t lock_started = 0;
    auto answer = [&](Outcome outcome, bool counted, bool changed, std::int64_t retry_ms = 0) {
      auto f = failures_.find(v.subject);
      return CheckResult{.outcome = outcome,
                         .status = v.status,
                         .attempts_remaining = std::max(0, v.max_attempts - v.attempts),
                         .expires_at = from_unix_ms(v.expires_at_ms),
                         .checked_at = from_unix_ms(now),
                         .attempt_counted = counted,
                         .status_changed = changed,
                         .retry_after = std::chrono::milliseconds(retry_ms),
                         .failures = f == failures_.end() ? 0 : f->second.n,
                         .lock_started = std::chrono::milliseconds(lock_started)};
    };
    const auto record_failure = [&] {
      Failures& f = failures_[v.subject];
      if (++f.n >= request.failure_lock_threshold) {
        ++f.locks;
        const double lock =
            std::min(static_cast<double>(request.lock_base.count()) * std::pow(2.0, f.locks - 1),
                     static_cast<double>(request.lock_max.count()));
        f.n = 0;
        f.until_ms = now + static_cast<std::int64_t>(lock);
        lock_started = static_cast<std::int64_t>(lock);
      }
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
    if (auto f = failures_.find(v.subject); f != failures_.end() && f->second.until_ms > now) {
      return answer(Outcome::kRecipientLocked, false, false, f->second.until_ms - now);
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
        failures_.erase(v.subject);
        result = answer(Outcome::kApproved, true, true);
      } else if (v.attempts >= v.max_attempts) {
        v.status = Status::kMaxAttemptsReached;
        record_failure();
        result = answer(Outcome::kMaxAttemptsReached, true, true);
      } else {
        record_failure();
        result = answer(Outcome::kInvalidCode, true, false);
      }
    }
    v.answers[request.request_id] = result;
    return result;
  }

  Result<ResentCode> resend(const ResendRequest& request) override {
    using messages::Status;
    if (auto down = enter(); !down) return tl::unexpected(down.error());
    auto it = verifications_.find(locate(request));
    if (it == verifications_.end()) return ResentCode{.outcome = ResendOutcome::kNotFound};
    Verification& v = it->second;
    if (auto answer = v.resent.find(request.request_id); answer != v.resent.end()) {
      ResentCode replay = answer->second;
      replay.outcome = ResendOutcome::kReplayed;
      return replay;
    }
    const auto now = to_unix_ms(clock_.now());
    if (v.status == Status::kPending && now >= v.expires_at_ms) {
      return ResentCode{.outcome = ResendOutcome::kNotPending, .status = Status::kExpired};
    }
    if (v.status != Status::kPending) {
      return ResentCode{.outcome = ResendOutcome::kNotPending, .status = v.status};
    }
    if (request.new_code && request.code_length != 0 && request.code_length != v.code_length) {
      return ResentCode{.outcome = ResendOutcome::kWrongLength, .code_length = v.code_length};
    }
    const std::int64_t last = v.sent_at_ms != 0 ? v.sent_at_ms : v.created_at_ms;
    if (now < last + request.cooldown.count()) {
      return ResentCode{
          .outcome = ResendOutcome::kCooldown,
          .retry_after = std::chrono::milliseconds(last + request.cooldown.count() - now)};
    }
    auto& sends = sends_[v.subject];
    const auto window = request.send_window.count();
    std::erase_if(sends, [&](std::int64_t at) { return at <= now - window; });
    if (static_cast<int>(sends.size()) >= request.sends_per_window) {
      return ResentCode{.outcome = ResendOutcome::kRateLimited,
                        .retry_after = std::chrono::milliseconds(
                            *std::min_element(sends.begin(), sends.end()) + window - now)};
    }
    sends.push_back(now);
    const SendWindow sent_window{.used = static_cast<int>(sends.size()),
                                 .reset = std::chrono::milliseconds(
                                     *std::min_element(sends.begin(), sends.end()) + window - now)};
    ++v.sends;
    v.sent_at_ms = now;
    if (request.new_code) {
      v.hmac = request.code_hmac;
      v.sealed_code = request.sealed_code;
      v.expires_at_ms = now + (v.ttl_ms != 0 ? v.ttl_ms : request.ttl.count());
    }
    ResentCode result{.outcome = ResendOutcome::kResent,
                      .channel = v.channel,
                      .code_length = v.code_length,
                      .attempts_remaining = std::max(0, v.max_attempts - v.attempts),
                      .sealed_code = v.sealed_code,
                      .send_number = v.sends,
                      .sent_at = from_unix_ms(now),
                      .expires_at = from_unix_ms(v.expires_at_ms),
                      .status = v.status,
                      .retry_after = std::chrono::milliseconds(0),
                      .window = sent_window};
    v.resent[request.request_id] = result;
    return result;
  }

  Result<CancelResult> cancel(const CancelRequest& request) override {
    using messages::Status;
    if (auto down = enter(); !down) return tl::unexpected(down.error());
    auto it = verifications_.find(locate(request));
    if (it == verifications_.end()) return CancelResult{};
    Verification& v = it->second;
    if (auto answer = v.canceled.find(request.request_id); answer != v.canceled.end()) {
      return answer->second;
    }
    const auto now = to_unix_ms(clock_.now());
    CancelResult result{
        .outcome = CancelOutcome::kUnchanged, .status = v.status, .at = from_unix_ms(now)};
    if (v.status == Status::kPending && now < v.expires_at_ms) {
      v.status = Status::kCanceled;
      result.outcome = CancelOutcome::kCanceled;
      result.status = Status::kCanceled;
    } else if (v.status == Status::kPending) {
      result.status = Status::kExpired;
    }
    v.canceled[request.request_id] = result;
    return result;
  }

  Result<StatusResult> status(const StatusRequest& request) override {
    if (auto down = enter(); !down) return tl::unexpected(down.error());
    auto it = verifications_.find(locate(request));
    if (it == verifications_.end()) return StatusResult{};
    const Verification& v = it->second;
    auto status = v.status;
    if (status == messages::Status::kPending && to_unix_ms(clock_.now()) >= v.expires_at_ms) {
      status = messages::Status::kExpired;
    }
    return StatusResult{.found = true,
                        .status = status,
                        .attempts_remaining = std::max(0, v.max_attempts - v.attempts),
                        .expires_at = from_unix_ms(v.expires_at_ms),
                        .channel = v.channel};
  }

  Result<std::optional<std::string>> current(const std::string& tenant,
                                             const std::string& recipient_hash) override {
    if (auto down = enter(); !down) return tl::unexpected(down.error());
    auto it = current_.find(tenant + "|" + recipient_hash);
    if (it == current_.end()) return std::nullopt;
    return it->second;
  }

  Result<std::optional<std::chrono::milliseconds>> take_send_token(
      const SendToken& token) override {
    if (auto down = enter(); !down) return tl::unexpected(down.error());
    const auto now = to_unix_ms(clock_.now());
    Bucket& b = buckets_.try_emplace(token.tenant, Bucket{static_cast<double>(token.burst), now})
                    .first->second;
    if (now > b.at_ms) {
      b.tokens = std::min<double>(token.burst, b.tokens + static_cast<double>(now - b.at_ms) *
                                                              token.rate_per_second / 1000);
    }
    b.tokens = std::min<double>(b.tokens, token.burst);
    b.at_ms = std::max(now, b.at_ms);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return std::nullopt;
    }
    if (requests_.contains(token.tenant + "|" + token.recipient_hash + "|" + token.request_id)) {
      return std::nullopt;
    }
    return std::chrono::milliseconds(
        static_cast<std::int64_t>(std::ceil((1 - b.tokens) * 1000 / token.rate_per_second)));
  }

 private:
  struct Bucket {
    double tokens = 0;
    std::int64_t at_ms = 0;
  };

  Result<void> enter() {
    ++calls_;
    if (unavailable_)
      return fail(Errc::kUnavailable, "redis GET at 127.0.0.1:6379: timed out (fake)");
    return {};
  }

  /// By recipient hash, or by the handle `lookup` gave when the request has none.
  template <class Request>
  static std::string locate(const Request& request) {
    if (request.recipient_hash.empty()) return request.handle;
    return request.tenant + "|" + request.recipient_hash + "|" + request.verification_id;
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
                      .status = v.status,
                      .retry_after = std::chrono::milliseconds(0),
                      .window = v.window,
                      .failures_at_issue = v.failures_at_issue};
  }

  const Clock& clock_;
  bool unavailable_ = false;
  int calls_ = 0;
  std::map<std::string, Verification> verifications_;       ///< by verification key
  std::map<std::string, std::string> requests_;             ///< request key -> verification key
  std::map<std::string, CodeLocation> index_;               ///< tenant|vid -> location
  std::map<std::string, Failures> failures_;                ///< by tenant|recipient hash
  std::map<std::string, std::vector<std::int64_t>> sends_;  ///< issue times by subject
  std::map<std::string, Bucket> buckets_;                   ///< by tenant
  std::map<std::string, std::string> current_;  ///< tenant|recipient hash -> latest issued vid
};

}  // namespace otp::generator::testing
