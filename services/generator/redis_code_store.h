#pragma once

#include "common/redis/redis_client.h"
#include "common/redis/redis_script.h"
#include "services/generator/code_store.h"

#include <span>
#include <string>
#include <vector>

namespace otp::generator {

/// The production CodeStore: verifications in Redis, changed only by three Lua scripts (lua/).
///
/// Key layout (README.md has the fields):
/// - `otp:{<tenant>:<rh>}:v:<vid>`         hash: one verification (rh = recipient hash)
/// - `otp:{<tenant>:<rh>}:req:<request_id>` string: the verification key a send request created
/// - `otp:vid:<tenant>:<vid>`               string: `<hmac key id>|<verification key>|<channel>|
///                                          <sealed recipient key id>|<sealed recipient>`, because
///                                          verify, cancel, status and resend requests may carry
///                                          only tenant and verification id
/// - `otp:{<tenant>:<rh>}:sends`            sorted set: recent verifications by issue time (ms)
/// - `otp:{<tenant>:<rh>}:fails`            hash: consecutive failed checks and the lock
/// - `otp:{<tenant>}:bucket`                hash: the tenant's send token bucket
/// - `otp:{<tenant>:<rh>}:current`          string: the id of the latest issued verification
/// The braces are a Redis Cluster hash tag, so issue and check touch one slot per
/// tenant+recipient. The bucket has its own tag (one slot per tenant), hence its own script.
/// The index key lives in another slot and is written by a plain `SET NX` before the issue
/// script runs; it is read by a plain `GET` before the check script runs.
///
/// `run_batch` (and `issue`, a batch of one) pipelines each phase across the batch. Each call is
/// one to three round trips on `client`; any Redis failure is kUnavailable (fail
/// closed). Holds `client` by reference: it must outlive the store. Not thread-safe (neither is
/// the client).
class RedisCodeStore final : public CodeStore {
 public:
  explicit RedisCodeStore(redis::RedisClient& client);

  /// SCRIPT LOAD the scripts (start-up). Optional: calls load them on NOSCRIPT anyway.
  [[nodiscard]] Result<void> load_scripts();

  [[nodiscard]] Result<IssuedCode> issue(const IssueRequest& request) override;
  [[nodiscard]] Result<std::optional<CodeLocation>> lookup(
      const std::string& tenant, const std::string& verification_id) override;
  [[nodiscard]] Result<CheckResult> check(const CheckRequest& request) override;
  [[nodiscard]] Result<ResentCode> resend(const ResendRequest& request) override;
  [[nodiscard]] Result<CancelResult> cancel(const CancelRequest& request) override;
  [[nodiscard]] Result<StatusResult> status(const StatusRequest& request) override;
  [[nodiscard]] Result<std::optional<std::string>> current(
      const std::string& tenant, const std::string& recipient_hash) override;
  [[nodiscard]] Result<std::optional<std::chrono::milliseconds>> take_send_token(
      const SendToken& token) override;
  /// Two pipelined round trips for the whole batch (plus one per step refused by a limit).
  [[nodiscard]] std::vector<Result<BatchAnswer>> run_batch(
      std::span<const BatchStep> steps) override;

  /// Key names, exposed for tests and operators' tooling.
  [[nodiscard]] static std::string verification_key(const std::string& tenant,
                                                    const std::string& recipient_hash,
                                                    const std::string& verification_id);
  [[nodiscard]] static std::string index_key(const std::string& tenant,
                                             const std::string& verification_id);
  [[nodiscard]] static std::string failures_key(const std::string& tenant,
                                                const std::string& recipient_hash);
  [[nodiscard]] static std::string sends_key(const std::string& tenant,
                                             const std::string& recipient_hash);
  [[nodiscard]] static std::string bucket_key(const std::string& tenant);
  [[nodiscard]] static std::string current_key(const std::string& tenant,
                                               const std::string& recipient_hash);

 private:
  /// The verification key: from tenant + recipient hash + id, or `handle` when no hash is given.
  static std::string locate(const std::string& tenant, const std::string& recipient_hash,
                            const std::string& verification_id, const std::string& handle);
  static std::vector<std::string> token_args(const SendToken& token);
  /// How many sends got a token, and when the others may retry.
  static Result<std::pair<std::size_t, std::chrono::milliseconds>> granted_tokens(
      Result<redis::RedisReply> reply);
  /// A send refused a token waits `retry_after`, unless it already issued (a replay): nullopt.
  Result<std::optional<std::chrono::milliseconds>> refused_token(
      const SendToken& token, std::chrono::milliseconds retry_after);
  /// The bucket script's answer; on refusal, whether the request already issued (a replay).
  Result<std::optional<std::chrono::milliseconds>> token_answer(Result<redis::RedisReply> reply,
                                                                const SendToken& token);
  static std::string index_value(const IssueRequest& request);
  std::vector<std::string> issue_command(const IssueRequest& request) const;
  struct ScriptCall {
    std::vector<std::string> keys;
    std::vector<std::string> args;
  };
  static ScriptCall check_call(const CheckRequest& request);
  /// The issue script's answer; a refusal releases the index if this step `claimed` it.
  Result<IssuedCode> issue_answer(Result<redis::RedisReply> reply, const std::string& index,
                                  bool claimed);
  static Result<CheckResult> check_answer(Result<redis::RedisReply> reply);
  /// Gives the index the TTL a resend with a new code gave the verification.
  Result<void> refresh_index(const std::string& tenant, const std::string& verification_id,
                             std::chrono::milliseconds keep);

  redis::RedisClient& client_;
  redis::RedisScript issue_script_;
  redis::RedisScript check_script_;
  redis::RedisScript bucket_script_;
  redis::RedisScript resend_script_;
  redis::RedisScript cancel_script_;
  redis::RedisScript status_script_;
};

}  // namespace otp::generator
