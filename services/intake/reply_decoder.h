#pragma once

#include "common/error/error.h"
#include "common/messages/messages.h"

#include <optional>
#include <string_view>

namespace otp::intake {

/// Decodes a record of the replies topic (schemas/reply.v1.json) exactly as
/// `messages::decode_reply` does, but without building a JSON document for the replies the
/// generator writes: a flat object of the reply's own properties whose strings are plain ASCII
/// (no escapes) and whose numbers are integers. Those are read by one pass over the text
/// (`scan_plain_reply`); anything else (escapes, non-ASCII text, unknown or repeated properties,
/// nested values, a value that breaks a rule, bad JSON) goes to `messages::decode_reply`, which
/// then decides, so its result and its error messages stay the reference.
///
/// Why: the reply consumer's thread decodes every reply of this instance, and the JSON document
/// that `decode_reply` builds was about half of that thread's CPU at 5,000 sync sends per second
/// (docs/performance.md, "HTTP sync path, fifth session").
///
/// Keep in step with `messages::decode_reply` (common/messages/messages.cc, `read_reply`): the
/// fast path accepts a reply only if every rule that decoder applies holds.
/// tests/unit/services/intake/reply_decoder_test.cc compares the two. Thread-safe (pure).
[[nodiscard]] Result<messages::Reply> decode_reply_fast(std::string_view payload);

/// The fast path alone: the Reply if `payload` is a plain reply (see above) that
/// `messages::decode_reply` accepts, nullopt when the full decoder has to look at it (which does
/// not mean it is invalid). Exposed for tests.
[[nodiscard]] std::optional<messages::Reply> scan_plain_reply(std::string_view payload);

}  // namespace otp::intake
