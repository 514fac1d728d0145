#pragma once

#include "common/crypto/sealed.h"
#include "common/error/error.h"
#include "common/messages/types.h"
#include "common/time/clock.h"

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace otp::generator {

/// One send's claim on its tenant's token bucket.
struct SendToken {
  std::string tenant{};
  std::string recipient_hash{};
  std::string request_id{};
  double rate_per_second = 50;  ///< refill
  int burst = 100;              ///< capacity
};

/// Everything needed to store a new code. The code itself is not here: only its HMAC and its
/// sealed form (for re-publishing the delivery job when the request is replayed).
struct IssueRequest {
  std::string tenant{};
  std::string verification_id{};
  std::string request_id{};
  /// `crypto::recipient_hash` of the recipient: scopes the keys (one Redis Cluster slot per
  /// tenant + recipient) without storing the recipient.
  std::string recipient_hash{};
  std::string code_hmac{};    ///< `crypto::code_hmac` of the code
  std::string hmac_key_id{};  ///< the key that computed `code_hmac`; checks use the same key
  crypto::Sealed sealed_code{};
  messages::Channel channel = messages::Channel::kSms;
  int code_length = 6;
  int max_attempts = 5;
  std::chrono::milliseconds ttl{600'000};
  /// How long the verification stays readable (status, replays) after it expired.
  std::chrono::milliseconds retention{24 * 3600 * 1000};
  /// At most this many new verifications per tenant + recipient in any `send_window` (sliding).
  int sends_per_window = 5;
  std::chrono::milliseconds send_window{600'000};
  /// The recipient sealed with the seal key ring (AAD = `recipient_aad(vid)`), kept with the
  /// verification id index so that resend, cancel and status can find it by id alone. Empty
  /// key_id: not kept.
  crypto::Sealed sealed_recipient{};
  /// Take one token from the tenant's bucket as part of the issue (the Redis store pipelines it
  /// with the index claim: one round trip less than `take_send_token` + `issue`). A replayed
  /// request passes an empty bucket, as with `take_send_token`.
  std::optional<SendToken> token{};
};

/// Additional authenticated data of a sealed recipient: distinct from a sealed code's (the bare
/// verification id), so neither can be passed off as the other.
inline std::string recipient_aad(const std::string& verification_id) {
  return "recipient|" + verification_id;
}

/// The sends-per-destination window as one send left it (the RateLimit-* numbers of its reply):
/// sends counted in the window including this one, and how long until the oldest leaves it.
struct SendWindow {
  int used = 0;
  std::chrono::milliseconds reset{0};
  bool operator==(const SendWindow&) const = default;
};

enum class IssueOutcome {
  kCreated,        ///< a new verification was stored
  kReplayed,       ///< this request id was seen before: the earlier verification, unchanged
  kConflict,       ///< the verification id is already used by another request
  kGone,           ///< the request was seen, but its verification no longer exists
  kRateLimited,    ///< new, but `sends_per_window` is used up: nothing stored; see `retry_after`
  kLocked,         ///< new, but the recipient is locked after failed checks; see `retry_after`
  kTenantLimited,  ///< `token` given and the tenant's bucket is empty: nothing stored
};

/// The stored verification after `issue`. For kConflict and kGone only `outcome` is meaningful;
/// for kRateLimited and kLocked also `retry_after`.
struct IssuedCode {
  IssueOutcome outcome = IssueOutcome::kCreated;
  std::string verification_id{};
  messages::Channel channel = messages::Channel::kSms;
  int code_length = 6;
  int max_attempts = 5;
  crypto::Sealed sealed_code{};
  TimePoint created_at{};  ///< the store's clock, not the caller's
  TimePoint expires_at{};
  messages::Status status = messages::Status::kPending;  ///< now, not at creation
  std::chrono::milliseconds retry_after{0};
  /// kCreated and kReplayed (as at creation): the send window after this send.
  std::optional<SendWindow> window{};
  /// kCreated and kReplayed: the subject's consecutive failed checks at creation (nullopt for
  /// verifications stored before it was kept).
  std::optional<int> failures_at_issue{};
};

/// Where a verification lives, as found by `lookup`. `handle` is opaque to callers.
struct CodeLocation {
  std::string handle{};
  std::string hmac_key_id{};  ///< compute the candidate HMAC with this key
  /// Kept at issue (see IssueRequest::sealed_recipient); nullopt for verifications issued
  /// before it was kept.
  std::optional<crypto::Sealed> sealed_recipient{};
  std::optional<messages::Channel> channel{};
};

struct CheckRequest {
  CodeLocation location{};
  std::string candidate_hmac{};  ///< `crypto::code_hmac` of the code the user typed
  std::string request_id{};      ///< a redelivered request id is answered from memory, not counted
  /// Consecutive failed checks of one tenant + recipient (across its verifications, not reset
  /// by new sends, reset by an approval) before it is locked for `lock_base` * 2^(locks so
  /// far), at most `lock_max`.
  int failure_lock_threshold = 100;
  std::chrono::milliseconds lock_base{60'000};
  std::chrono::milliseconds lock_max{24 * 3600 * 1000};
};

/// The answer to one check. Replays of the same request id return the identical result.
struct CheckResult {
  messages::Outcome outcome = messages::Outcome::kNotFound;
  messages::Status status = messages::Status::kPending;
  int attempts_remaining = 0;
  TimePoint expires_at{};
  TimePoint checked_at{};                    ///< the store's clock at the (first) check
  bool attempt_counted = false;              ///< this check used one of the attempts
  bool status_changed = false;               ///< this check moved the status out of pending
  std::chrono::milliseconds retry_after{0};  ///< kRecipientLocked: until the lock ends
  /// The subject's consecutive failed checks after this check (nullopt: answers stored before
  /// it was reported); 0 after an approval or when this check started a lock.
  std::optional<int> failures{};
  std::chrono::milliseconds lock_started{0};  ///< the lock this check started, if any
};

/// Delivers a pending verification again. Located like `issue` (tenant + recipient hash +
/// verification id), so another tenant's or another recipient's id is simply not found.
struct ResendRequest {
  std::string tenant{};
  std::string verification_id{};
  std::string request_id{};
  /// Locates the verification with tenant and id; empty: `handle` (from `lookup`) does, for
  /// requests that name only the verification id.
  std::string recipient_hash{};
  std::string handle{};
  /// Policy `new`: store `code_hmac` and `sealed_code` (a new code; the old one stops verifying)
  /// and restart the TTL. Policy `same`: re-send the stored sealed code, expiry unchanged.
  bool new_code = true;
  std::string code_hmac{};  ///< new_code only; computed with the verification's hmac key
  crypto::Sealed sealed_code{};
  /// new_code only: the new code's digit count. A verification keeps the length it was issued
  /// with (a send may override the tenant's), so a code of another length is refused with
  /// kWrongLength and the caller draws again. 0: not checked.
  int code_length = 0;
  /// New code only: the restarted lifetime, unless the verification recorded its own at issue
  /// (a send may override the tenant's TTL), which wins.
  std::chrono::milliseconds ttl{600'000};
  std::chrono::milliseconds retention{24 * 3600 * 1000};
  std::chrono::milliseconds cooldown{30'000};  ///< since the last send of this verification
  int sends_per_window = 5;                    ///< shared with `issue`
  std::chrono::milliseconds send_window{600'000};
};

enum class ResendOutcome {
  kResent,       ///< a new send of the verification; `send_number` is its number (2, 3, ...)
  kReplayed,     ///< this request id resent it before: the identical earlier answer
  kNotFound,     ///< no such verification for this tenant + recipient
  kNotPending,   ///< settled (or expired): `status` says how; nothing sent
  kCooldown,     ///< the last send is younger than `cooldown`; see `retry_after`
  kRateLimited,  ///< sends per destination used up; see `retry_after`
  kWrongLength,  ///< new code of the wrong length: draw `code_length` digits; nothing changed
};

struct ResentCode {
  ResendOutcome outcome = ResendOutcome::kNotFound;
  messages::Channel channel = messages::Channel::kSms;
  int code_length = 6;
  int attempts_remaining = 0;  ///< resends never give attempts back
  crypto::Sealed sealed_code{};
  int send_number = 1;  ///< the delivery job id is `<verification id>:<send_number>`
  TimePoint sent_at{};  ///< the store's clock
  TimePoint expires_at{};
  messages::Status status = messages::Status::kPending;
  std::chrono::milliseconds retry_after{0};
  std::optional<SendWindow> window{};  ///< kResent and kReplayed: the window after this send
};

/// Located like ResendRequest: by recipient hash, or by `handle` when that is empty.
struct CancelRequest {
  std::string tenant{};
  std::string verification_id{};
  std::string request_id{};
  std::string recipient_hash{};
  std::string handle{};
};

/// A read-only look at one verification. Located like ResendRequest.
struct StatusRequest {
  std::string tenant{};
  std::string verification_id{};
  std::string recipient_hash{};
  std::string handle{};
};

/// The live state: a pending verification past its expiry reads as expired (not written back;
/// the next check settles it).
struct StatusResult {
  bool found = false;
  messages::Status status = messages::Status::kFailed;
  int attempts_remaining = 0;
  TimePoint expires_at{};
  messages::Channel channel = messages::Channel::kSms;
};

enum class CancelOutcome {
  kCanceled,   ///< pending -> canceled by this request (or its replay)
  kUnchanged,  ///< already settled (canceled included): `status` as it is, nothing changed
  kNotFound,
};

struct CancelResult {
  CancelOutcome outcome = CancelOutcome::kNotFound;
  messages::Status status = messages::Status::kFailed;
  TimePoint at{};  ///< the store's clock when this request id was first answered
};

/// A check of a verification named by id, as one step of `CodeStore::run_batch`: look it up,
/// then check the candidate computed with the key it was issued under.
struct CheckByIdRequest {
  std::string tenant{};
  std::string verification_id{};
  /// `crypto::code_hmac` of the typed code under each key of the ring, as (key id, hmac): the
  /// verification's key picks one. (Usually the ring has one key; during a rotation two.)
  std::vector<std::pair<std::string, std::string>> candidates{};
  /// Everything but `location` and `candidate_hmac`, which the store fills in.
  CheckRequest check{};
};

/// The answer to a CheckByIdRequest. No location: no such verification (nothing was counted).
struct CheckedById {
  std::optional<CodeLocation> location{};
  CheckResult result{};
};

/// `step.check` located at `location`, with the candidate of the location's key; kInternal if the
/// ring had no such key.
Result<CheckRequest> complete_check(const CheckByIdRequest& step, CodeLocation location);

/// One step of a batch, and its answer (the same alternative).
using BatchStep = std::variant<IssueRequest, CheckByIdRequest>;
using BatchAnswer = std::variant<IssuedCode, CheckedById>;

/// The generator's OTP state: the only seam between the stage and Redis. `RedisCodeStore` is the
/// production implementation; unit tests use an in-memory fake with the same semantics.
///
/// Semantics every implementation keeps:
/// - `issue` is idempotent on (tenant, recipient hash, request id): a replay returns the stored
///   verification unchanged and never stores a second code.
/// - `check` counts the attempt *before* comparing (parallel guesses never exceed max_attempts),
///   consumes the code on a match, expires lazily by the store's clock, and answers a replayed
///   request id with the stored result without counting it again.
/// - `issue` refuses a new verification (never a replay) while the recipient is locked or its
///   sends in the window are used up; `check` refuses, without counting, while it is locked.
/// - `take_send_token` takes one token from the tenant's bucket; a request that already issued a
///   verification passes even when the bucket is empty, so replays get their stored answer.
/// - `resend` works only on a pending, unexpired verification, at least `cooldown` after its last
///   send; it counts toward the sends per destination and never resets attempts or failures.
/// - `cancel` moves pending to canceled; a settled verification is left as it is.
/// - `resend` and `cancel` remember their answer per request id: a replay gets it unchanged.
/// - `status` changes nothing.
/// - Any failure to reach the store is kUnavailable; nothing is ever approved without the store.
///
/// Implementations need not be thread-safe (one per consumer thread).
class CodeStore {
 public:
  virtual ~CodeStore() = default;

  [[nodiscard]] virtual Result<IssuedCode> issue(const IssueRequest& request) = 0;

  /// The verification `verification_id` of `tenant`, or nullopt if there is none (unknown,
  /// another tenant's, or past its retention).
  [[nodiscard]] virtual Result<std::optional<CodeLocation>> lookup(
      const std::string& tenant, const std::string& verification_id) = 0;

  /// kNotFound outcome if the verification vanished since `lookup`.
  [[nodiscard]] virtual Result<CheckResult> check(const CheckRequest& request) = 0;

  [[nodiscard]] virtual Result<ResentCode> resend(const ResendRequest& request) = 0;
  [[nodiscard]] virtual Result<CancelResult> cancel(const CancelRequest& request) = 0;
  [[nodiscard]] virtual Result<StatusResult> status(const StatusRequest& request) = 0;

  /// The id of the recipient's most recently issued verification (kept by `issue` for as long as
  /// that verification is kept), or nullopt.
  [[nodiscard]] virtual Result<std::optional<std::string>> current(
      const std::string& tenant, const std::string& recipient_hash) = 0;

  /// nullopt if the send may go ahead, else how long until the bucket has a token again.
  [[nodiscard]] virtual Result<std::optional<std::chrono::milliseconds>> take_send_token(
      const SendToken& token) = 0;

  /// Runs `steps` with exactly the effects and answers of running them one after the other, in
  /// order (`issue` for an IssueRequest; `lookup`, then `check` with the candidate of the
  /// verification's key, for a CheckByIdRequest), one answer per step. A store may overlap the
  /// steps' round trips (RedisCodeStore pipelines each phase of every step: two round trips for
  /// the lot instead of two per step) as long as the result is the same. A verification whose
  /// key has no candidate fails its step with kInternal. After a transport failure the steps
  /// not yet answered fail with it; some of them may have run (every step is idempotent by
  /// request id, so running them again is safe). This default runs them one by one.
  [[nodiscard]] virtual std::vector<Result<BatchAnswer>> run_batch(
      std::span<const BatchStep> steps);
};

}  // namespace otp::generator
