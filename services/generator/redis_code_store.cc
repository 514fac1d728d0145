#include "services/generator/redis_code_store.h"

#include "services/generator/lua_scripts.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace otp::generator {
namespace {

using messages::Outcome;
using messages::Status;
using redis::RedisReply;

std::string request_key(const std::string& tenant, const std::string& recipient_hash,
                        const std::string& request_id) {
  return "otp:{" + tenant + ":" + recipient_hash + "}:req:" + request_id;
}

tl::unexpected<Error> malformed(std::string_view what) {
  return fail(Errc::kInternal, "redis code store: unexpected reply from " + std::string(what));
}

/// Reads the string elements of a script's array reply, which are all strings by construction.
std::optional<std::vector<std::string>> strings_of(const RedisReply& reply) {
  const auto* array = reply.array();
  if (array == nullptr || array->empty()) return std::nullopt;
  std::vector<std::string> out;
  out.reserve(array->size());
  for (const auto& element : *array) {
    const auto* text = element.string();
    if (text == nullptr) return std::nullopt;
    out.push_back(*text);
  }
  return out;
}

std::optional<std::int64_t> to_int(const std::string& text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// The send window after a send, from a script's trailing `window_used`, `window_reset_ms`.
std::optional<SendWindow> window_of(const std::string& used, const std::string& reset) {
  auto n = to_int(used);
  auto ms = to_int(reset);
  if (!n || !ms || *n <= 0) return std::nullopt;  // 0: stored before the window was kept
  return SendWindow{.used = static_cast<int>(*n), .reset = std::chrono::milliseconds(*ms)};
}

Result<IssuedCode> parse_issued(const std::vector<std::string>& f, IssueOutcome outcome) {
  constexpr std::size_t kFields = 13;
  if (f.size() != kFields) return malformed("issue");
  auto failures = to_int(f[12]);
  auto channel = messages::parse_channel(f[4]);
  auto status = messages::parse_status(f[9]);
  auto created = to_int(f[2]);
  auto expires = to_int(f[3]);
  auto length = to_int(f[5]);
  auto max_attempts = to_int(f[6]);
  if (!channel || !status || !created || !expires || !length || !max_attempts) {
    return malformed("issue");
  }
  return IssuedCode{.outcome = outcome,
                    .verification_id = f[1],
                    .channel = *channel,
                    .code_length = static_cast<int>(*length),
                    .max_attempts = static_cast<int>(*max_attempts),
                    .sealed_code = crypto::Sealed{f[7], f[8]},
                    .created_at = from_unix_ms(*created),
                    .expires_at = from_unix_ms(*expires),
                    .status = *status,
                    .retry_after = std::chrono::milliseconds(0),
                    .window = window_of(f[10], f[11]),
                    .failures_at_issue = failures && *failures >= 0
                                             ? std::optional<int>(static_cast<int>(*failures))
                                             : std::nullopt};
}

std::string format_ms(std::chrono::milliseconds ms) { return std::to_string(ms.count()); }

Result<CheckResult> parse_checked(const std::vector<std::string>& f) {
  // Answers stored before retry_after existed have 7 fields, before failures 8.
  if (f.size() != 7 && f.size() != 8 && f.size() != 10) return malformed("check");
  std::optional<std::int64_t> retry_after = 0;
  if (f.size() >= 8) retry_after = to_int(f[7]);
  std::optional<std::int64_t> failures;
  std::optional<std::int64_t> lock_started = 0;
  if (f.size() == 10) {
    failures = to_int(f[8]);
    lock_started = to_int(f[9]);
    if (!failures || !lock_started) return malformed("check");
  }
  auto outcome = messages::parse_outcome(f[0]);
  auto status = messages::parse_status(f[1]);
  auto remaining = to_int(f[2]);
  auto expires = to_int(f[3]);
  auto checked = to_int(f[4]);
  if (!outcome || !status || !remaining || !expires || !checked || !retry_after) {
    return malformed("check");
  }
  return CheckResult{
      .outcome = *outcome,
      .status = *status,
      .attempts_remaining = static_cast<int>(*remaining),
      .expires_at = from_unix_ms(*expires),
      .checked_at = from_unix_ms(*checked),
      .attempt_counted = f[5] == "1",
      .status_changed = f[6] == "1",
      .retry_after = std::chrono::milliseconds(*retry_after),
      .failures = failures ? std::optional<int>(static_cast<int>(*failures)) : std::nullopt,
      .lock_started = std::chrono::milliseconds(*lock_started)};
}

// The subject (tenant + recipient) part of a verification key: `otp:{<tenant>:<rh>}`.
std::string subject_of(const std::string& verification_key) {
  return verification_key.substr(0, verification_key.find("}:") + 1);
}

std::vector<std::string> split_bars(const std::string& text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const auto bar = text.find('|', start);
    parts.push_back(text.substr(start, bar - start));
    if (bar == std::string::npos) return parts;
    start = bar + 1;
  }
}

// The index value: `<hmac key id>|<verification key>` (before the recipient was kept), or
// `<hmac key id>|<verification key>|<channel>|<sealed recipient key id>|<sealed recipient>`.
std::optional<CodeLocation> parse_index(const std::string& value) {
  const auto parts = split_bars(value);
  if ((parts.size() != 2 && parts.size() != 5) || parts[0].empty() || parts[1].empty()) {
    return std::nullopt;
  }
  CodeLocation location{.handle = parts[1], .hmac_key_id = parts[0]};
  if (parts.size() == 5) {
    auto channel = messages::parse_channel(parts[2]);
    if (!channel) return std::nullopt;
    location.channel = *channel;
    if (!parts[3].empty()) location.sealed_recipient = crypto::Sealed{parts[3], parts[4]};
  }
  return location;
}

}  // namespace

RedisCodeStore::RedisCodeStore(redis::RedisClient& client)
    : client_(client),
      issue_script_("issue", lua::kIssue),
      check_script_("check", lua::kCheck),
      bucket_script_("bucket", lua::kBucket),
      resend_script_("resend", lua::kResend),
      cancel_script_("cancel", lua::kCancel),
      status_script_("status", lua::kStatus) {}

std::string RedisCodeStore::verification_key(const std::string& tenant,
                                             const std::string& recipient_hash,
                                             const std::string& verification_id) {
  return "otp:{" + tenant + ":" + recipient_hash + "}:v:" + verification_id;
}

std::string RedisCodeStore::index_key(const std::string& tenant,
                                      const std::string& verification_id) {
  return "otp:vid:" + tenant + ":" + verification_id;
}

std::string RedisCodeStore::failures_key(const std::string& tenant,
                                         const std::string& recipient_hash) {
  return "otp:{" + tenant + ":" + recipient_hash + "}:fails";
}

std::string RedisCodeStore::sends_key(const std::string& tenant,
                                      const std::string& recipient_hash) {
  return "otp:{" + tenant + ":" + recipient_hash + "}:sends";
}

std::string RedisCodeStore::current_key(const std::string& tenant,
                                        const std::string& recipient_hash) {
  return "otp:{" + tenant + ":" + recipient_hash + "}:current";
}

std::string RedisCodeStore::bucket_key(const std::string& tenant) {
  return "otp:{" + tenant + "}:bucket";
}

Result<void> RedisCodeStore::load_scripts() {
  for (const auto* script : {&issue_script_, &check_script_, &bucket_script_, &resend_script_,
                             &cancel_script_, &status_script_}) {
    auto sha = client_.script_load(script->source());
    if (!sha) return tl::unexpected(sha.error());
    if (*sha != script->sha()) {
      return fail(Errc::kInternal, "redis SCRIPT LOAD " + script->name() + ": sha mismatch");
    }
  }
  return {};
}

Result<IssuedCode> RedisCodeStore::issue(const IssueRequest& request) {
  const BatchStep steps[] = {request};
  auto answers = run_batch(steps);
  if (!answers.front()) return tl::unexpected(answers.front().error());
  return std::get<IssuedCode>(std::move(*answers.front()));
}

std::string RedisCodeStore::index_value(const IssueRequest& request) {
  auto value = request.hmac_key_id + "|" +
               verification_key(request.tenant, request.recipient_hash, request.verification_id);
  if (!request.sealed_recipient.key_id.empty()) {
    value.append("|").append(messages::to_string(request.channel)).append("|");
    value.append(request.sealed_recipient.key_id).append("|");
    value.append(request.sealed_recipient.data);
  }
  return value;
}

std::vector<std::string> RedisCodeStore::issue_command(const IssueRequest& request) const {
  const std::string keys[] = {
      verification_key(request.tenant, request.recipient_hash, request.verification_id),
      request_key(request.tenant, request.recipient_hash, request.request_id),
      sends_key(request.tenant, request.recipient_hash),
      failures_key(request.tenant, request.recipient_hash),
      current_key(request.tenant, request.recipient_hash)};
  const std::string args[] = {request.verification_id,
                              request.code_hmac,
                              request.hmac_key_id,
                              std::to_string(request.max_attempts),
                              std::to_string(request.ttl.count()),
                              std::to_string(request.retention.count()),
                              std::string(messages::to_string(request.channel)),
                              std::to_string(request.code_length),
                              request.sealed_code.key_id,
                              request.sealed_code.data,
                              request.request_id,
                              std::to_string(request.sends_per_window),
                              format_ms(request.send_window)};
  return redis::RedisClient::eval_sha_command(issue_script_, keys, args);
}

RedisCodeStore::ScriptCall RedisCodeStore::check_call(const CheckRequest& request) {
  return {.keys = {request.location.handle, subject_of(request.location.handle) + ":fails"},
          .args = {request.candidate_hmac, request.location.hmac_key_id, request.request_id,
                   std::to_string(request.failure_lock_threshold), format_ms(request.lock_base),
                   format_ms(request.lock_max)}};
}

Result<IssuedCode> RedisCodeStore::issue_answer(Result<redis::RedisReply> reply,
                                                const std::string& index, bool claimed) {
  if (!reply) return tl::unexpected(reply.error());
  auto fields = strings_of(*reply);
  if (!fields) return malformed("issue");
  const auto& tag = fields->front();
  if (tag == "created") return parse_issued(*fields, IssueOutcome::kCreated);
  if (tag == "replayed") return parse_issued(*fields, IssueOutcome::kReplayed);
  if (tag == "conflict") return IssuedCode{.outcome = IssueOutcome::kConflict};
  if (tag == "gone") return IssuedCode{.outcome = IssueOutcome::kGone};
  if ((tag == "rate_limited" || tag == "locked") && fields->size() == 2) {
    auto retry_after = to_int((*fields)[1]);
    if (!retry_after) return malformed("issue");
    // Nothing was stored: release the verification id claimed in phase 1, if this step claimed
    // it, so a verify finds no index without a verification. Best effort: a leftover index only
    // answers not_found and expires with the verification's retention.
    if (claimed) (void)client_.command({"DEL", index});
    return IssuedCode{
        .outcome = tag == "locked" ? IssueOutcome::kLocked : IssueOutcome::kRateLimited,
        .retry_after = std::chrono::milliseconds(*retry_after)};
  }
  return malformed("issue");
}

Result<CheckResult> RedisCodeStore::check_answer(Result<redis::RedisReply> reply) {
  if (!reply) return tl::unexpected(reply.error());
  auto fields = strings_of(*reply);
  if (!fields) return malformed("check");
  if (fields->size() == 1 && fields->front() == "not_found") {
    return CheckResult{.outcome = Outcome::kNotFound, .status = Status::kFailed};
  }
  if (fields->size() == 1 && fields->front() == "key_mismatch") {
    return fail(Errc::kInternal, "redis code store: hmac key id changed under a verification");
  }
  return parse_checked(*fields);
}

std::vector<Result<BatchAnswer>> RedisCodeStore::run_batch(std::span<const BatchStep> steps) {
  // Two pipelined round trips for the whole batch. Phase 1, per step in order: a send takes the
  // tenant's token and claims the verification id index (`SET NX GET`: the previous value
  // comes back when the claim fails), a check reads the index. Phase 2, per step still open, in
  // order: the issue or check script. Every phase-1 command of step j runs after those of the
  // steps before it, and every phase-2 script after theirs; phase 1 only writes the index and
  // the bucket, which no script reads, so the answers are those of running the steps one by one.
  std::vector<std::optional<Result<BatchAnswer>>> answers(steps.size());
  struct Open {
    std::size_t step = 0;
    std::vector<std::string> command{};      ///< the phase-2 script
    std::string index{};                     ///< issue: the index key, released on a refusal
    bool claimed = false;                    ///< issue: this step's SET NX stored the index
    std::optional<CodeLocation> location{};  ///< check: where the verification is
  };

  std::vector<std::vector<std::string>> phase1;
  phase1.reserve(steps.size() + 1);
  // The tenant's bucket once per tenant (and rate) for all its sends in the batch: the first n
  // in order get the n tokens there are, as one by one.
  struct Bucket {
    std::string tenant;
    std::vector<std::string> token_args;  ///< rate, burst
    std::size_t sends = 0;                ///< the batch's sends that want a token from it
    std::size_t ranked = 0;               ///< sends answered so far, in order
    ScriptCall call{};
    std::size_t reply = 0;
  };
  std::vector<Bucket> buckets;
  std::vector<std::size_t> bucket_of(steps.size(), 0);
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const auto* request = std::get_if<IssueRequest>(&steps[i]);
    if (request == nullptr || !request->token) continue;
    auto args = token_args(*request->token);
    auto found = std::find_if(buckets.begin(), buckets.end(), [&](const Bucket& bucket) {
      return bucket.tenant == request->tenant && bucket.token_args == args;
    });
    if (found == buckets.end()) {
      found = buckets.insert(buckets.end(),
                             Bucket{.tenant = request->tenant, .token_args = std::move(args)});
    }
    ++found->sends;
    bucket_of[i] = static_cast<std::size_t>(found - buckets.begin());
  }
  for (auto& bucket : buckets) {
    bucket.call = {
        .keys = {bucket_key(bucket.tenant)},
        .args = {bucket.token_args[0], bucket.token_args[1], std::to_string(bucket.sends)}};
    bucket.reply = phase1.size();
    phase1.push_back(
        redis::RedisClient::eval_sha_command(bucket_script_, bucket.call.keys, bucket.call.args));
  }
  std::vector<std::size_t> first_reply(steps.size());
  for (std::size_t i = 0; i < steps.size(); ++i) {
    first_reply[i] = phase1.size();
    if (const auto* request = std::get_if<IssueRequest>(&steps[i])) {
      phase1.push_back({"SET", index_key(request->tenant, request->verification_id),
                        index_value(*request), "NX", "GET", "PX",
                        std::to_string((request->ttl + request->retention).count())});
    } else {
      const auto& by_id = std::get<CheckByIdRequest>(steps[i]);
      phase1.push_back({"GET", index_key(by_id.tenant, by_id.verification_id)});
    }
  }
  const auto fail_open = [&](const Error& error) {
    std::vector<Result<BatchAnswer>> out;
    out.reserve(steps.size());
    for (auto& answer : answers) {
      out.push_back(answer ? std::move(*answer) : Result<BatchAnswer>(tl::unexpected(error)));
    }
    return out;
  };
  auto replies1 = client_.pipeline(phase1);
  if (!replies1) return fail_open(replies1.error());

  // Per bucket: how many of its sends got a token, and when the others may retry.
  std::vector<Result<std::pair<std::size_t, std::chrono::milliseconds>>> grants;
  for (auto& bucket : buckets) {
    auto reply = std::move((*replies1)[bucket.reply]);
    Result<redis::RedisReply> answer = redis::RedisReply{redis::RedisNil{}};
    if (reply.is_error() && reply.error()->message.starts_with("NOSCRIPT")) {
      answer = client_.run_script(bucket_script_, bucket.call.keys, bucket.call.args);
    } else {
      answer = redis::reject_error_reply(std::move(reply), "EVALSHA bucket");
    }
    grants.push_back(granted_tokens(std::move(answer)));
  }

  std::vector<Open> open;
  open.reserve(steps.size());
  for (std::size_t i = 0; i < steps.size(); ++i) {
    auto* reply = &(*replies1)[first_reply[i]];
    if (const auto* request = std::get_if<IssueRequest>(&steps[i])) {
      // The token: nullopt = no bucket, else the wait (nullopt inside: granted).
      std::optional<Result<std::optional<std::chrono::milliseconds>>> wait;
      if (request->token) {
        const auto& grant = grants[bucket_of[i]];
        const std::size_t rank = buckets[bucket_of[i]].ranked++;  // steps come in order
        if (!grant) {
          wait = tl::unexpected(grant.error());
        } else if (rank < grant->first) {
          wait = std::optional<std::chrono::milliseconds>();
        } else {
          wait = refused_token(*request->token, grant->second);
        }
      }
      auto claim = redis::reject_error_reply(std::move(*reply), "SET index");
      if (!claim) {
        answers[i] = tl::unexpected(claim.error());
        continue;
      }
      const std::string& index = phase1[first_reply[i]][1];  // the key phase 1 claimed
      const bool claimed = claim->is_nil();
      if (wait) {
        if (!*wait) {
          answers[i] = tl::unexpected(wait->error());
          continue;
        }
        if (**wait) {
          if (claimed) (void)client_.command({"DEL", index});
          answers[i] = BatchAnswer{
              IssuedCode{.outcome = IssueOutcome::kTenantLimited, .retry_after = ***wait}};
          continue;
        }
      }
      if (!claimed) {
        // The index names this very verification key: a replay (or a lost race), which the
        // script sorts out. Another key: the id belongs to another request.
        const auto* value = claim->string();
        const auto location = value == nullptr ? std::nullopt : parse_index(*value);
        const bool ours = location && location->handle ==
                                          verification_key(request->tenant, request->recipient_hash,
                                                           request->verification_id);
        if (!ours) {
          answers[i] = BatchAnswer{IssuedCode{.outcome = IssueOutcome::kConflict}};
          continue;
        }
      }
      open.push_back(
          Open{.step = i, .command = issue_command(*request), .index = index, .claimed = claimed});
      continue;
    }
    const auto& by_id = std::get<CheckByIdRequest>(steps[i]);
    auto found = redis::reject_error_reply(std::move(*reply), "GET index");
    if (!found) {
      answers[i] = tl::unexpected(found.error());
      continue;
    }
    if (found->is_nil()) {
      answers[i] = BatchAnswer{CheckedById{}};
      continue;
    }
    const auto* value = found->string();
    auto location = value == nullptr ? std::nullopt : parse_index(*value);
    if (!location) {
      answers[i] = malformed("GET index");
      continue;
    }
    auto check = complete_check(by_id, *location);
    if (!check) {
      answers[i] = tl::unexpected(check.error());
      continue;
    }
    const auto call = check_call(*check);
    open.push_back(
        Open{.step = i,
             .command = redis::RedisClient::eval_sha_command(check_script_, call.keys, call.args),
             .location = location});
  }

  if (!open.empty()) {
    std::vector<std::vector<std::string>> phase2;
    phase2.reserve(open.size());
    for (const auto& item : open) phase2.push_back(item.command);
    auto replies2 = client_.pipeline(phase2);
    if (!replies2) return fail_open(replies2.error());
    // Redis restarted (or SCRIPT FLUSH) since the scripts were loaded: a NOSCRIPT script did
    // nothing, so load the scripts and run those again, in order.
    std::vector<std::size_t> missing;
    for (std::size_t k = 0; k < open.size(); ++k) {
      const auto& reply = (*replies2)[k];
      if (reply.is_error() && reply.error()->message.starts_with("NOSCRIPT")) missing.push_back(k);
    }
    if (!missing.empty()) {
      if (auto loaded = load_scripts(); !loaded) return fail_open(loaded.error());
      std::vector<std::vector<std::string>> again;
      for (auto k : missing) again.push_back(open[k].command);
      auto replies3 = client_.pipeline(again);
      if (!replies3) return fail_open(replies3.error());
      for (std::size_t m = 0; m < missing.size(); ++m) {
        (*replies2)[missing[m]] = std::move((*replies3)[m]);
      }
    }
    for (std::size_t k = 0; k < open.size(); ++k) {
      auto& item = open[k];
      const bool is_issue = std::holds_alternative<IssueRequest>(steps[item.step]);
      auto reply = redis::reject_error_reply(std::move((*replies2)[k]),
                                             is_issue ? "EVALSHA issue" : "EVALSHA check");
      if (is_issue) {
        answers[item.step] = issue_answer(std::move(reply), item.index, item.claimed)
                                 .map([](IssuedCode code) -> BatchAnswer { return code; });
      } else {
        answers[item.step] = check_answer(std::move(reply)).map([&](CheckResult result) {
          return BatchAnswer{CheckedById{.location = std::move(item.location), .result = result}};
        });
      }
    }
  }
  std::vector<Result<BatchAnswer>> out;
  out.reserve(steps.size());
  for (auto& answer : answers) out.push_back(std::move(*answer));
  return out;
}

Result<std::optional<CodeLocation>> RedisCodeStore::lookup(const std::string& tenant,
                                                           const std::string& verification_id) {
  auto reply = redis::reject_error_reply(
      client_.command({"GET", index_key(tenant, verification_id)}), "GET index");
  if (!reply) return tl::unexpected(reply.error());
  if (reply->is_nil()) return std::nullopt;
  const auto* value = reply->string();
  auto location = value == nullptr ? std::nullopt : parse_index(*value);
  if (!location) return malformed("GET index");
  return location;
}

Result<CheckResult> RedisCodeStore::check(const CheckRequest& request) {
  const auto call = check_call(request);
  return check_answer(client_.run_script(check_script_, call.keys, call.args));
}

std::string RedisCodeStore::locate(const std::string& tenant, const std::string& recipient_hash,
                                   const std::string& verification_id, const std::string& handle) {
  return recipient_hash.empty() ? handle
                                : verification_key(tenant, recipient_hash, verification_id);
}

Result<ResentCode> RedisCodeStore::resend(const ResendRequest& request) {
  const auto vkey =
      locate(request.tenant, request.recipient_hash, request.verification_id, request.handle);
  const std::string keys[] = {vkey, subject_of(vkey) + ":sends"};
  const std::string args[] = {request.request_id,
                              request.new_code ? "1" : "0",
                              request.code_hmac,
                              request.sealed_code.key_id,
                              request.sealed_code.data,
                              format_ms(request.ttl),
                              format_ms(request.retention),
                              format_ms(request.cooldown),
                              std::to_string(request.sends_per_window),
                              format_ms(request.send_window),
                              std::to_string(request.new_code ? request.code_length : 0)};
  auto reply = client_.run_script(resend_script_, keys, args);
  if (!reply) return tl::unexpected(reply.error());
  auto fields = strings_of(*reply);
  if (!fields) return malformed("resend");
  const auto& f = *fields;
  const auto& tag = f.front();
  if (tag == "not_found" && f.size() == 1) return ResentCode{.outcome = ResendOutcome::kNotFound};
  if (tag == "not_pending" && f.size() == 2) {
    auto status = messages::parse_status(f[1]);
    if (!status) return malformed("resend");
    return ResentCode{.outcome = ResendOutcome::kNotPending, .status = *status};
  }
  if (tag == "wrong_length" && f.size() == 2) {
    auto length = to_int(f[1]);
    if (!length) return malformed("resend");
    return ResentCode{.outcome = ResendOutcome::kWrongLength,
                      .code_length = static_cast<int>(*length)};
  }
  if ((tag == "cooldown" || tag == "rate_limited") && f.size() == 2) {
    auto retry_after = to_int(f[1]);
    if (!retry_after) return malformed("resend");
    return ResentCode{
        .outcome = tag == "cooldown" ? ResendOutcome::kCooldown : ResendOutcome::kRateLimited,
        .retry_after = std::chrono::milliseconds(*retry_after)};
  }
  // Answers stored before the send window was kept have 10 fields.
  if ((tag != "resent" && tag != "replayed") || (f.size() != 10 && f.size() != 12)) {
    return malformed("resend");
  }
  auto channel = messages::parse_channel(f[1]);
  auto length = to_int(f[2]);
  auto remaining = to_int(f[3]);
  auto number = to_int(f[6]);
  auto sent = to_int(f[7]);
  auto expires = to_int(f[8]);
  auto status = messages::parse_status(f[9]);
  if (!channel || !length || !remaining || !number || !sent || !expires || !status) {
    return malformed("resend");
  }
  ResentCode result{.outcome = tag == "resent" ? ResendOutcome::kResent : ResendOutcome::kReplayed,
                    .channel = *channel,
                    .code_length = static_cast<int>(*length),
                    .attempts_remaining = static_cast<int>(*remaining),
                    .sealed_code = crypto::Sealed{f[4], f[5]},
                    .send_number = static_cast<int>(*number),
                    .sent_at = from_unix_ms(*sent),
                    .expires_at = from_unix_ms(*expires),
                    .status = *status,
                    .retry_after = std::chrono::milliseconds(0),
                    .window = f.size() == 12 ? window_of(f[10], f[11]) : std::nullopt};
  // A new code restarted the verification's TTL: the index (another slot, so not in the
  // script) must live as long. Best effort: a lapsed index answers not_found, never approves.
  if (result.outcome == ResendOutcome::kResent && request.new_code) {
    // The lifetime the script gave the new code (the verification's own TTL).
    const auto ttl =
        std::chrono::duration_cast<std::chrono::milliseconds>(result.expires_at - result.sent_at);
    (void)refresh_index(request.tenant, request.verification_id, ttl + request.retention);
  }
  return result;
}

Result<void> RedisCodeStore::refresh_index(const std::string& tenant,
                                           const std::string& verification_id,
                                           std::chrono::milliseconds keep) {
  return redis::reject_error_reply(
             client_.command({"PEXPIRE", index_key(tenant, verification_id), format_ms(keep)}),
             "PEXPIRE index")
      .map([](const auto&) {});
}

Result<CancelResult> RedisCodeStore::cancel(const CancelRequest& request) {
  const std::string keys[] = {
      locate(request.tenant, request.recipient_hash, request.verification_id, request.handle)};
  const std::string args[] = {request.request_id};
  auto reply = client_.run_script(cancel_script_, keys, args);
  if (!reply) return tl::unexpected(reply.error());
  auto fields = strings_of(*reply);
  if (!fields) return malformed("cancel");
  const auto& f = *fields;
  if (f.size() == 1 && f.front() == "not_found") return CancelResult{};
  if (f.size() != 3 || (f[0] != "canceled" && f[0] != "unchanged")) return malformed("cancel");
  auto status = messages::parse_status(f[1]);
  auto at = to_int(f[2]);
  if (!status || !at) return malformed("cancel");
  return CancelResult{
      .outcome = f[0] == "canceled" ? CancelOutcome::kCanceled : CancelOutcome::kUnchanged,
      .status = *status,
      .at = from_unix_ms(*at)};
}

Result<StatusResult> RedisCodeStore::status(const StatusRequest& request) {
  const std::string keys[] = {
      locate(request.tenant, request.recipient_hash, request.verification_id, request.handle)};
  auto reply = client_.run_script(status_script_, keys, {});
  if (!reply) return tl::unexpected(reply.error());
  auto fields = strings_of(*reply);
  if (!fields) return malformed("status");
  const auto& f = *fields;
  if (f.size() == 1 && f.front() == "not_found") return StatusResult{};
  if (f.size() != 4) return malformed("status");
  auto status = messages::parse_status(f[0]);
  auto remaining = to_int(f[1]);
  auto expires = to_int(f[2]);
  auto channel = messages::parse_channel(f[3]);
  if (!status || !remaining || !expires || !channel) return malformed("status");
  return StatusResult{.found = true,
                      .status = *status,
                      .attempts_remaining = static_cast<int>(*remaining),
                      .expires_at = from_unix_ms(*expires),
                      .channel = *channel};
}

Result<std::optional<std::string>> RedisCodeStore::current(const std::string& tenant,
                                                           const std::string& recipient_hash) {
  auto reply = redis::reject_error_reply(
      client_.command({"GET", current_key(tenant, recipient_hash)}), "GET current");
  if (!reply) return tl::unexpected(reply.error());
  if (reply->is_nil()) return std::nullopt;
  const auto* value = reply->string();
  if (value == nullptr || value->empty()) return malformed("GET current");
  return *value;
}

std::vector<std::string> RedisCodeStore::token_args(const SendToken& token) {
  char rate[32];
  std::snprintf(rate, sizeof rate, "%.6f", token.rate_per_second);
  return {rate, std::to_string(token.burst)};
}

Result<std::optional<std::chrono::milliseconds>> RedisCodeStore::take_send_token(
    const SendToken& token) {
  const std::string keys[] = {bucket_key(token.tenant)};
  const auto args = token_args(token);
  return token_answer(client_.run_script(bucket_script_, keys, args), token);
}

Result<std::pair<std::size_t, std::chrono::milliseconds>> RedisCodeStore::granted_tokens(
    Result<redis::RedisReply> reply) {
  if (!reply) return tl::unexpected(reply.error());
  auto fields = strings_of(*reply);
  if (!fields || fields->size() != 3 || fields->front() != "granted") return malformed("bucket");
  auto granted = to_int((*fields)[1]);
  auto wait = to_int((*fields)[2]);
  if (!granted || !wait || *granted < 0) return malformed("bucket");
  return std::pair{static_cast<std::size_t>(*granted), std::chrono::milliseconds(*wait)};
}

Result<std::optional<std::chrono::milliseconds>> RedisCodeStore::refused_token(
    const SendToken& token, std::chrono::milliseconds retry_after) {
  // A request that already issued its verification is a replay: it must get its stored answer,
  // not a refusal. Checked only on refusal, so the common path stays one round trip.
  auto prior = redis::reject_error_reply(
      client_.command(
          {"EXISTS", request_key(token.tenant, token.recipient_hash, token.request_id)}),
      "EXISTS request");
  if (!prior) return tl::unexpected(prior.error());
  const auto* exists = prior->integer();
  if (exists != nullptr && *exists == 1) return std::nullopt;
  return retry_after;
}

Result<std::optional<std::chrono::milliseconds>> RedisCodeStore::token_answer(
    Result<redis::RedisReply> reply, const SendToken& token) {
  if (!reply) return tl::unexpected(reply.error());
  auto fields = strings_of(*reply);
  if (!fields) return malformed("bucket");
  if (fields->front() == "ok") return std::nullopt;
  if (fields->front() != "limited" || fields->size() != 2) return malformed("bucket");
  auto retry_after = to_int((*fields)[1]);
  if (!retry_after) return malformed("bucket");
  return refused_token(token, std::chrono::milliseconds(*retry_after));
}

}  // namespace otp::generator
