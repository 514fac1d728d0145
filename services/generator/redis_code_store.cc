#include "services/generator/redis_code_store.h"

#include "services/generator/lua_scripts.h"

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

Result<IssuedCode> parse_issued(const std::vector<std::string>& f, IssueOutcome outcome) {
  constexpr std::size_t kFields = 10;
  if (f.size() != kFields) return malformed("issue");
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
                    .status = *status};
}

std::string format_ms(std::chrono::milliseconds ms) { return std::to_string(ms.count()); }

Result<CheckResult> parse_checked(const std::vector<std::string>& f) {
  // Answers stored before retry_after existed have 7 fields.
  if (f.size() != 7 && f.size() != 8) return malformed("check");
  std::optional<std::int64_t> retry_after = 0;
  if (f.size() == 8) retry_after = to_int(f[7]);
  auto outcome = messages::parse_outcome(f[0]);
  auto status = messages::parse_status(f[1]);
  auto remaining = to_int(f[2]);
  auto expires = to_int(f[3]);
  auto checked = to_int(f[4]);
  if (!outcome || !status || !remaining || !expires || !checked || !retry_after) {
    return malformed("check");
  }
  return CheckResult{.outcome = *outcome,
                     .status = *status,
                     .attempts_remaining = static_cast<int>(*remaining),
                     .expires_at = from_unix_ms(*expires),
                     .checked_at = from_unix_ms(*checked),
                     .attempt_counted = f[5] == "1",
                     .status_changed = f[6] == "1",
                     .retry_after = std::chrono::milliseconds(*retry_after)};
}

// The subject (tenant + recipient) part of a verification key: `otp:{<tenant>:<rh>}`.
std::string subject_of(const std::string& verification_key) {
  return verification_key.substr(0, verification_key.find("}:") + 1);
}

}  // namespace

RedisCodeStore::RedisCodeStore(redis::RedisClient& client)
    : client_(client),
      issue_script_("issue", lua::kIssue),
      check_script_("check", lua::kCheck),
      bucket_script_("bucket", lua::kBucket),
      resend_script_("resend", lua::kResend),
      cancel_script_("cancel", lua::kCancel) {}

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

std::string RedisCodeStore::bucket_key(const std::string& tenant) {
  return "otp:{" + tenant + "}:bucket";
}

Result<void> RedisCodeStore::load_scripts() {
  for (const auto* script :
       {&issue_script_, &check_script_, &bucket_script_, &resend_script_, &cancel_script_}) {
    auto sha = client_.script_load(script->source());
    if (!sha) return tl::unexpected(sha.error());
    if (*sha != script->sha()) {
      return fail(Errc::kInternal, "redis SCRIPT LOAD " + script->name() + ": sha mismatch");
    }
  }
  return {};
}

Result<IssuedCode> RedisCodeStore::issue(const IssueRequest& request) {
  const auto vkey =
      verification_key(request.tenant, request.recipient_hash, request.verification_id);
  const auto keep = std::to_string((request.ttl + request.retention).count());

  // Claim the verification id first, so a verify never finds a verification without its index
  // and a clash with another recipient's verification stores nothing.
  const auto index = index_key(request.tenant, request.verification_id);
  const auto index_value = request.hmac_key_id + "|" + vkey;
  auto claimed = redis::reject_error_reply(
      client_.command({"SET", index, index_value, "NX", "PX", keep}), "SET index");
  if (!claimed) return tl::unexpected(claimed.error());
  if (claimed->is_nil()) {
    auto current = redis::reject_error_reply(client_.command({"GET", index}), "GET index");
    if (!current) return tl::unexpected(current.error());
    const auto* value = current->string();
    // The index names this very verification key: a replay (or a lost race), which the script
    // sorts out. (A nil here means the index just expired: the script will find no hash either.)
    const bool ours = value != nullptr && value->substr(value->find('|') + 1) == vkey;
    if (!ours && value != nullptr) return IssuedCode{.outcome = IssueOutcome::kConflict};
  }

  const std::string keys[] = {
      vkey, request_key(request.tenant, request.recipient_hash, request.request_id),
      sends_key(request.tenant, request.recipient_hash),
      failures_key(request.tenant, request.recipient_hash)};
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
  auto reply = client_.run_script(issue_script_, keys, args);
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
    // Nothing was stored: release the verification id claimed above, if this call claimed it,
    // so a verify finds no index without a verification. Best effort: a leftover index only
    // answers not_found and expires with `keep`.
    if (!claimed->is_nil()) (void)client_.command({"DEL", index});
    return IssuedCode{
        .outcome = tag == "locked" ? IssueOutcome::kLocked : IssueOutcome::kRateLimited,
        .retry_after = std::chrono::milliseconds(*retry_after)};
  }
  return malformed("issue");
}

Result<std::optional<CodeLocation>> RedisCodeStore::lookup(const std::string& tenant,
                                                           const std::string& verification_id) {
  auto reply = redis::reject_error_reply(
      client_.command({"GET", index_key(tenant, verification_id)}), "GET index");
  if (!reply) return tl::unexpected(reply.error());
  if (reply->is_nil()) return std::nullopt;
  const auto* value = reply->string();
  const auto bar = value == nullptr ? std::string::npos : value->find('|');
  if (bar == std::string::npos || bar == 0) return malformed("GET index");
  return CodeLocation{.handle = value->substr(bar + 1), .hmac_key_id = value->substr(0, bar)};
}

Result<CheckResult> RedisCodeStore::check(const CheckRequest& request) {
  const std::string keys[] = {request.location.handle,
                              subject_of(request.location.handle) + ":fails"};
  const std::string args[] = {
      request.candidate_hmac,       request.location.hmac_key_id,
      request.request_id,           std::to_string(request.failure_lock_threshold),
      format_ms(request.lock_base), format_ms(request.lock_max)};
  auto reply = client_.run_script(check_script_, keys, args);
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

Result<ResentCode> RedisCodeStore::resend(const ResendRequest& request) {
  const std::string keys[] = {
      verification_key(request.tenant, request.recipient_hash, request.verification_id),
      sends_key(request.tenant, request.recipient_hash)};
  const std::string args[] = {request.request_id,
                              request.new_code ? "1" : "0",
                              request.code_hmac,
                              request.sealed_code.key_id,
                              request.sealed_code.data,
                              format_ms(request.ttl),
                              format_ms(request.retention),
                              format_ms(request.cooldown),
                              std::to_string(request.sends_per_window),
                              format_ms(request.send_window)};
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
  if ((tag == "cooldown" || tag == "rate_limited") && f.size() == 2) {
    auto retry_after = to_int(f[1]);
    if (!retry_after) return malformed("resend");
    return ResentCode{
        .outcome = tag == "cooldown" ? ResendOutcome::kCooldown : ResendOutcome::kRateLimited,
        .retry_after = std::chrono::milliseconds(*retry_after)};
  }
  constexpr std::size_t kFields = 10;
  if ((tag != "resent" && tag != "replayed") || f.size() != kFields) return malformed("resend");
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
  return ResentCode{.outcome = tag == "resent" ? ResendOutcome::kResent : ResendOutcome::kReplayed,
                    .channel = *channel,
                    .code_length = static_cast<int>(*length),
                    .attempts_remaining = static_cast<int>(*remaining),
                    .sealed_code = crypto::Sealed{f[4], f[5]},
                    .send_number = static_cast<int>(*number),
                    .sent_at = from_unix_ms(*sent),
                    .expires_at = from_unix_ms(*expires),
                    .status = *status};
}

Result<CancelResult> RedisCodeStore::cancel(const CancelRequest& request) {
  const std::string keys[] = {
      verification_key(request.tenant, request.recipient_hash, request.verification_id)};
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

Result<std::optional<std::chrono::milliseconds>> RedisCodeStore::take_send_token(
    const SendToken& token) {
  const std::string keys[] = {bucket_key(token.tenant)};
  char rate[32];
  std::snprintf(rate, sizeof rate, "%.6f", token.rate_per_second);
  const std::string args[] = {rate, std::to_string(token.burst)};
  auto reply = client_.run_script(bucket_script_, keys, args);
  if (!reply) return tl::unexpected(reply.error());
  auto fields = strings_of(*reply);
  if (!fields) return malformed("bucket");
  if (fields->front() == "ok") return std::nullopt;
  if (fields->front() != "limited" || fields->size() != 2) return malformed("bucket");
  auto retry_after = to_int((*fields)[1]);
  if (!retry_after) return malformed("bucket");
  // A request that already issued its verification is a replay: it must get its stored answer,
  // not a refusal. Checked only on refusal, so the common path stays one round trip.
  auto prior = redis::reject_error_reply(
      client_.command(
          {"EXISTS", request_key(token.tenant, token.recipient_hash, token.request_id)}),
      "EXISTS request");
  if (!prior) return tl::unexpected(prior.error());
  const auto* exists = prior->integer();
  if (exists != nullptr && *exists == 1) return std::nullopt;
  return std::chrono::milliseconds(*retry_after);
}

}  // namespace otp::generator
