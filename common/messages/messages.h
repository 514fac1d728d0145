#pragma once

#include "common/crypto/sealed.h"
#include "common/error/error.h"
#include "common/messages/types.h"
#include "common/time/clock.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace otp::messages {

/// The schema version every payload carries as `schema_version`; decoders reject other versions.
inline constexpr int kSchemaVersion = 1;

/// What a send request asks for. `send` when the field is absent.
enum class SendAction {
  kSend,    ///< issue a new verification and deliver its code
  kResend,  ///< deliver the pending verification `verification_id` again (tenant's resend policy)
  kCancel,  ///< cancel the pending verification `verification_id`
  kStatus,  ///< answer the live state of verification `verification_id`; changes nothing
};
[[nodiscard]] std::string_view to_string(SendAction action) noexcept;
[[nodiscard]] Result<SendAction> parse_send_action(std::string_view text);

/// `otp.send-requests`: issue a code for a recipient and deliver it, or resend or cancel one.
/// Keyed by tenant + recipient. Idempotent on (tenant, request_id): a replay never issues a
/// second code. Resend and cancel name the verification and still carry its recipient and
/// channel (the recipient locates it and receives the resent code).
struct SendRequested {
  std::string request_id;
  std::string tenant;
  /// Chosen by the publisher (the intake) so it can answer before the generator does; may be
  /// left out by upstream publishers, in which case the generator derives it from request_id.
  std::string verification_id;
  /// E.164 phone number or email address. May be empty for resend, cancel and status when the
  /// publisher does not know it (the HTTP API has only the verification id): the generator then
  /// finds the verification by id.
  std::string recipient;
  Channel channel = Channel::kSms;
  std::string locale;  ///< optional BCP 47 tag; empty = the tenant's default
  TimePoint requested_at{};
  SendAction action = SendAction::kSend;  ///< resend, cancel, status require `verification_id`
  /// Seed 001's `from`: the brand or sender name shown in the message; empty = tenant default.
  std::string sender;
  std::string template_name;  ///< a tenant template name; empty = the built-in default
  std::string app_hash;       ///< Android SMS Retriever app hash (11 characters), optional
  /// Per-request overrides of the tenant's defaults for this verification only (sends):
  /// digits 4..10 and lifetime 30..86400 s; nullopt = the tenant's setting.
  std::optional<int> code_length;
  std::optional<int> ttl_seconds;
  /// What the code is for (e.g. signup, login); empty = none. Audit data only.
  std::string purpose;
  /// A small flat JSON object (at most 16 keys; string, number or boolean values) or null.
  /// Stored with the verification.created event; never sent to providers or logged.
  nlohmann::json metadata;
};

/// `otp.verify-requests`: check a code. Keyed by verification id (by `<tenant>:<recipient>` when
/// only the recipient is known).
/// The code travels sealed (AES-256-GCM, AAD = verification id, or the recipient when the
/// request names only the recipient) when the intake publishes it;
/// upstream publishers that hold no sealing key may send `otp_code` in clear on their own
/// responsibility. Exactly one of the two is set after a successful decode.
struct VerifyRequested {
  std::string request_id;
  std::string tenant;
  /// Empty when `recipient` names the verification instead: exactly one of the two is set.
  std::string verification_id;
  /// Seed 002's verify by phone number: the recipient (as normalised by the intake) whose
  /// current verification (the most recently issued one) is checked. Empty: by id.
  std::string recipient;
  std::optional<crypto::Sealed> sealed_code;
  std::optional<std::string> otp_code;
  TimePoint requested_at{};
  /// When the publisher stops waiting for the answer (the intake: now + its reply timeout). A
  /// request read later is answered `unavailable` unchecked, so it can neither use an attempt nor
  /// approve a verification after its caller was told to retry.
  std::optional<TimePoint> respond_by;
};

/// Which request a reply answers.
enum class RequestKind { kSend, kVerify, kResend, kCancel, kStatus };

/// `otp.replies`: the generator's answer, on the partition the request named in its headers.
struct Reply {
  std::string correlation_id;
  std::string request_id;
  RequestKind kind = RequestKind::kSend;
  std::string tenant;
  std::string verification_id;
  Outcome outcome = Outcome::kPending;
  Status status = Status::kPending;
  std::optional<int> attempts_remaining;
  std::optional<TimePoint> expires_at;
  std::optional<Channel> channel;
  std::optional<int> code_length;
  /// rate_limited, recipient_locked: whole seconds (rounded up) before trying again may succeed.
  std::optional<int> retry_after_seconds{};
  std::string message;  ///< a human explanation for failures; never a code
  /// Send and resend: the per-destination send limit that applied (RateLimit-* headers):
  /// the window's limit, what is left of it, and seconds until the window resets.
  std::optional<int> rate_limit_limit;
  std::optional<int> rate_limit_remaining;
  std::optional<int> rate_limit_reset_seconds;
  /// Delivery replies: the provider that took the message (kDelivered).
  std::string provider;
  /// Verify (and pending send) replies: consecutive failed checks the recipient may still make
  /// before it is locked (the tenant's failure_lock_threshold minus the count after this
  /// request); 0 while locked or when this request started a lock (then retry_after_seconds is
  /// the lock's length). Seed 002's "trials left".
  std::optional<int> failures_remaining;
};

/// `otp.delivery.<channel>`: deliver one code. Keyed by verification id.
struct DeliveryJob {
  std::string job_id;  ///< unique per issued code; providers dedupe on it
  std::string tenant;
  std::string verification_id;
  Channel channel = Channel::kSms;
  std::string recipient;
  crypto::Sealed sealed_code;
  int code_length = 6;
  std::string locale;
  TimePoint expires_at{};
  /// Nothing is sent after this (expiry minus a safety margin).
  TimePoint deadline{};
  int attempt = 0;
  std::string sender;         ///< as SendRequested::sender
  std::string template_name;  ///< as SendRequested::template_name
  std::string app_hash;       ///< as SendRequested::app_hash
  /// Channels to try, in order, after this one fails permanently (the tenant's fallback order
  /// at issue time, this channel excluded). The delivery worker pops the front when it falls back.
  std::vector<Channel> fallback_channels;
  /// Retries (on `otp.delivery.retry`): not to be attempted before this time.
  std::optional<TimePoint> not_before;
  /// Providers that already refused this job permanently; failover skips them.
  std::vector<std::string> failed_providers;
};

/// `otp.events`: one lifecycle event, CloudEvents-style. Never carries a code or a full
/// recipient. `id` is deterministic for a given cause so that a reprocessed record produces the
/// same event and the audit trail dedupes it.
struct Event {
  std::string id;
  std::string type;    ///< e.g. `verification.created`, `delivery.sent`
  std::string source;  ///< the producing process, e.g. `otp-generator`
  TimePoint time{};
  std::string tenant;
  std::string verification_id;
  nlohmann::json data = nlohmann::json::object();
};

[[nodiscard]] std::string encode(const SendRequested& message);
[[nodiscard]] std::string encode(const VerifyRequested& message);
[[nodiscard]] std::string encode(const Reply& message);
[[nodiscard]] std::string encode(const DeliveryJob& message);
[[nodiscard]] std::string encode(const Event& message);

/// Strict decoders: the payload must be a JSON object of the current schema version with every
/// required field of the right type. Errors are kInvalidInput with the offending field named.
[[nodiscard]] Result<SendRequested> decode_send_requested(std::string_view payload);
[[nodiscard]] Result<VerifyRequested> decode_verify_requested(std::string_view payload);
[[nodiscard]] Result<Reply> decode_reply(std::string_view payload);
[[nodiscard]] Result<DeliveryJob> decode_delivery_job(std::string_view payload);
[[nodiscard]] Result<Event> decode_event(std::string_view payload);

/// The same decoders for a payload already parsed (e.g. once for schema validation and then for
/// decoding): the same answers as the overloads above for the document `payload` parses to.
/// Values may be moved out of `document`.
[[nodiscard]] Result<SendRequested> decode_send_requested_document(nlohmann::json&& document);
[[nodiscard]] Result<VerifyRequested> decode_verify_requested_document(nlohmann::json&& document);

}  // namespace otp::messages
