#include "services/generator/redis_code_store.h"

#include "services/generator/lua_scripts.h"

#include <charconv>

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

Result<CheckResult> parse_checked(const std::vector<std::string>& f) {
  constexpr std::size_t kFields = 7;
  if (f.size() != kFields) return malformed("check");
  auto outcome = messages::parse_outcome(f[0]);
  auto status = messages::parse_status(f[1]);
  auto remaining = to_int(f[2]);
  auto expires = to_int(f[3]);
  auto checked = to_int(f[4]);
  if (!outcome || !status || !remaining || !expires || !checked) return malformed("check");
  return CheckResult{.outcome = *outcome,
                     .status = *status,
                     .attempts_remaining = static_cast<int>(*remaining),
                     .expires_at = from_unix_ms(*expires),
                     .checked_at = from_unix_ms(*checked),
                     .attempt_counted = f[5] == "1",
                     .status_changed = f[6] == "1"};
}

}  // namespace

RedisCodeStore::RedisCodeStore(redis::RedisClient& client)
    : client_(client), issue_script_("issue", lua::kIssue), check_script_("check", lua::kCheck) {}

std::string RedisCodeStore::verification_key(const std::string& tenant,
                                             const std::string& recipient_hash,
                                             const std::string& verification_id) {
  return "otp:{" + tenant + ":" + recipient_hash + "}:v:" + verification_id;
}

std::string RedisCodeStore::index_key(const std::string& tenant,
                                      const std::string& verification_id) {
  return "otp:vid:" + tenant + ":" + verification_id;
}

Result<void> RedisCodeStore::load_scripts() {
  for (const auto* script : {&issue_script_, &check_script_}) {
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
      vkey, request_key(request.tenant, request.recipient_hash, request.request_id)};
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
                              request.request_id};
  auto reply = client_.run_script(issue_script_, keys, args);
  if (!reply) return tl::unexpected(reply.error());
  auto fields = strings_of(*reply);
  if (!fields) return malformed("issue");
  const auto& tag = fields->front();
  if (tag == "created") return parse_issued(*fields, IssueOutcome::kCreated);
  if (tag == "replayed") return parse_issued(*fields, IssueOutcome::kReplayed);
  if (tag == "conflict") return IssuedCode{.outcome = IssueOutcome::kConflict};
  if (tag == "gone") return IssuedCode{.outcome = IssueOutcome::kGone};
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
  const std::string keys[] = {request.location.handle};
  const std::string args[] = {request.candidate_hmac, request.location.hmac_key_id,
                              request.request_id};
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

}  // namespace otp::generator
