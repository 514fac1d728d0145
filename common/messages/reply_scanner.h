#pragma once

#include "common/error/error.h"
#include "common/messages/messages.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

// Internal to common/messages: the fast path of messages::decode_reply.
namespace otp::messages::detail {

// The bounds decode_reply applies to a reply's fields; the full decoder (messages.cc) and the
// scanner below both use these.
inline constexpr std::size_t kMaxIdLength = 128;
inline constexpr std::size_t kMaxEnumLength = 64;
inline constexpr std::size_t kMaxTimeLength = 64;
inline constexpr std::size_t kMaxReplyChannelLength = 16;
inline constexpr std::size_t kMaxReplyMessageLength = 1024;
inline constexpr std::size_t kMaxReplyProviderLength = 32;
inline constexpr std::int64_t kMaxRetryAfterSeconds = 7 * 86'400;
inline constexpr std::int64_t kMaxReplyCount = 100'000'000;

/// The Reply if `payload` is a plain reply (schemas/reply.v1.json) that the full decoder accepts,
/// read in one pass over the text without building a JSON document: a flat object of the reply's
/// own properties whose strings are plain ASCII (no escapes) and whose numbers are integers, every
/// rule of the full decoder holding. nullopt when the full decoder has to look at it (escapes,
/// non-ASCII text, unknown or repeated properties, nested values, a value that breaks a rule, bad
/// JSON), which does not mean the reply is invalid. Thread-safe (pure).
///
/// Why: every intake instance decodes each of its replies, and building the JSON document was
/// about half of its reply thread's CPU at 5,000 sync sends per second (docs/performance.md,
/// "HTTP sync path, fifth session"). tests/unit/common/messages/reply_scanner_test.cc compares
/// it with the full decoder.
[[nodiscard]] std::optional<Reply> scan_plain_reply(std::string_view payload);

/// "send", "verify", "resend", "cancel" or "status" (a request's and a reply's `kind`).
[[nodiscard]] Result<RequestKind> parse_request_kind(std::string_view text);

/// decode_reply without the fast path: the reference the scanner is tested against.
[[nodiscard]] Result<Reply> decode_reply_document_text(std::string_view payload);

}  // namespace otp::messages::detail
