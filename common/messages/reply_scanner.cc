#include "common/messages/reply_scanner.h"

#include "common/messages/messages.h"
#include "common/random/rng.h"
#include "common/time/clock.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

namespace otp::messages::detail {
namespace {

// Reply-specific names for the shared bounds (reply_scanner.h).
constexpr std::size_t kMaxChannelLength = kMaxReplyChannelLength;
constexpr std::size_t kMaxMessageLength = kMaxReplyMessageLength;
constexpr std::size_t kMaxProviderLength = kMaxReplyProviderLength;
constexpr std::int64_t kMaxCount = kMaxReplyCount;
// 18 digits always fit in an int64; longer numbers go to the full decoder.
constexpr std::size_t kMaxDigits = 18;

enum Field : std::size_t {
  kSchemaVersion,
  kCorrelationId,
  kRequestId,
  kKind,
  kTenant,
  kVerificationId,
  kOutcome,
  kStatus,
  kAttemptsRemaining,
  kExpiresAt,
  kChannel,
  kCodeLength,
  kRetryAfterSeconds,
  kMessage,
  kRateLimitLimit,
  kRateLimitRemaining,
  kRateLimitResetSeconds,
  kFailuresRemaining,
  kProvider,
  kFieldCount,
};

constexpr std::array<std::string_view, kFieldCount> kFieldNames = {
    "schema_version",
    "correlation_id",
    "request_id",
    "kind",
    "tenant",
    "verification_id",
    "outcome",
    "status",
    "attempts_remaining",
    "expires_at",
    "channel",
    "code_length",
    "retry_after_seconds",
    "message",
    "rate_limit_limit",
    "rate_limit_remaining",
    "rate_limit_reset_seconds",
    "failures_remaining",
    "provider",
};

struct Value {
  enum class Type { kAbsent, kNull, kString, kInteger } type = Type::kAbsent;
  std::string_view text;
  std::int64_t number = 0;
};

bool is_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == ':';
}

/// One pass over a flat JSON object; fails (nullopt) on anything it does not read itself.
class FlatObjectScanner {
 public:
  explicit FlatObjectScanner(std::string_view text) : text_(text) {}

  bool scan(std::array<Value, kFieldCount>& values) {
    if (!consume('{')) return false;
    skip_whitespace();
    if (peek() == '}') return false;  // an empty object lacks required fields anyway
    while (true) {
      skip_whitespace();
      if (peek() != '"') return false;
      auto name = plain_string();
      if (!name) return false;
      const std::size_t field = field_index(*name);
      if (field == kFieldCount || values[field].type != Value::Type::kAbsent) return false;
      if (!consume(':')) return false;
      skip_whitespace();
      if (!value(values[field])) return false;
      skip_whitespace();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != '}') return false;
      ++pos_;
      skip_whitespace();
      return pos_ == text_.size();
    }
  }

 private:
  [[nodiscard]] char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  void skip_whitespace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' ||
                                   text_[pos_] == '\r' || text_[pos_] == '\t')) {
      ++pos_;
    }
  }

  bool consume(char c) {
    skip_whitespace();
    if (peek() != c) return false;
    ++pos_;
    return true;
  }

  static std::size_t field_index(std::string_view name) {
    for (std::size_t i = 0; i < kFieldCount; ++i) {
      if (kFieldNames[i] == name) return i;
    }
    return kFieldCount;
  }

  // At '"': a string of printable ASCII without escapes (anything else needs a real decoder).
  std::optional<std::string_view> plain_string() {
    const std::size_t start = ++pos_;
    while (pos_ < text_.size()) {
      const auto c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') return text_.substr(start, pos_++ - start);
      if (c == '\\' || c < 0x20 || c >= 0x80) return std::nullopt;
      ++pos_;
    }
    return std::nullopt;
  }

  // -?(0|[1-9][0-9]*) with no fraction or exponent; "-0" is left to the full decoder.
  bool integer(Value& out) {
    const bool negative = peek() == '-';
    if (negative) ++pos_;
    const std::size_t start = pos_;
    std::int64_t number = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      if (pos_ - start == kMaxDigits) return false;
      number = number * 10 + (text_[pos_] - '0');
      ++pos_;
    }
    const std::size_t digits = pos_ - start;
    if (digits == 0 || (text_[start] == '0' && (digits > 1 || negative))) return false;
    const char next = peek();
    if (next == '.' || next == 'e' || next == 'E') return false;
    out.type = Value::Type::kInteger;
    out.number = negative ? -number : number;
    return true;
  }

  bool value(Value& out) {
    const char c = peek();
    if (c == '"') {
      auto text = plain_string();
      if (!text) return false;
      out.type = Value::Type::kString;
      out.text = *text;
      return true;
    }
    if (c == '-' || (c >= '0' && c <= '9')) return integer(out);
    if (text_.substr(pos_, 4) == "null") {
      pos_ += 4;
      out.type = Value::Type::kNull;
      return true;
    }
    return false;  // true, false, objects, arrays: no reply property holds one
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// The rules of the full decoder, field by field; false = let that decoder decide.
bool present(const Value& value) {
  return value.type != Value::Type::kAbsent && value.type != Value::Type::kNull;
}

bool is_string(const Value& value, std::size_t max_length) {
  return value.type == Value::Type::kString && !value.text.empty() &&
         value.text.size() <= max_length;
}

bool read_id(const Value& value, std::string& out) {
  if (!is_string(value, kMaxIdLength)) return false;
  for (char c : value.text) {
    if (!is_id_char(c)) return false;
  }
  out.assign(value.text);
  return true;
}

template <class Enum>
bool read_enum(const Value& value, Result<Enum> (*parse)(std::string_view), Enum& out) {
  if (!is_string(value, kMaxEnumLength)) return false;
  auto parsed = parse(value.text);
  if (!parsed) return false;
  out = *parsed;
  return true;
}

bool read_optional_integer(const Value& value, std::int64_t min, std::int64_t max,
                           std::optional<int>& out) {
  if (!present(value)) return true;
  if (value.type != Value::Type::kInteger || value.number < min || value.number > max) return false;
  out = static_cast<int>(value.number);
  return true;
}

bool read_optional_string(const Value& value, std::size_t max_length, std::string& out) {
  if (!present(value)) return true;
  if (!is_string(value, max_length)) return false;
  out.assign(value.text);
  return true;
}

}  // namespace

Result<RequestKind> parse_request_kind(std::string_view text) {
  if (text == "send") return RequestKind::kSend;
  if (text == "verify") return RequestKind::kVerify;
  if (text == "resend") return RequestKind::kResend;
  if (text == "cancel") return RequestKind::kCancel;
  if (text == "status") return RequestKind::kStatus;
  return fail(Errc::kInvalidInput, "must be send, verify, resend, cancel or status");
}

std::optional<Reply> scan_plain_reply(std::string_view payload) {
  std::array<Value, kFieldCount> values{};
  if (!FlatObjectScanner(payload).scan(values)) return std::nullopt;

  const Value& version = values[kSchemaVersion];
  if (version.type != Value::Type::kInteger || version.number != messages::kSchemaVersion) {
    return std::nullopt;
  }
  Reply reply;
  if (!read_id(values[kCorrelationId], reply.correlation_id) ||
      !read_id(values[kRequestId], reply.request_id) || !read_id(values[kTenant], reply.tenant)) {
    return std::nullopt;
  }
  if (!read_enum(values[kKind], &parse_request_kind, reply.kind)) return std::nullopt;
  const Value& verification_id = values[kVerificationId];
  if (verification_id.type != Value::Type::kString) return std::nullopt;
  if (!verification_id.text.empty()) {
    if (verification_id.text.size() > kMaxIdLength || !is_verification_id(verification_id.text)) {
      return std::nullopt;
    }
    reply.verification_id.assign(verification_id.text);
  }
  if (!read_enum(values[kOutcome], &parse_outcome, reply.outcome) ||
      !read_enum(values[kStatus], &parse_status, reply.status)) {
    return std::nullopt;
  }
  // decode_reply takes any integer here and narrows it to int.
  constexpr auto kAnyMin = std::numeric_limits<std::int64_t>::min();
  constexpr auto kAnyMax = std::numeric_limits<std::int64_t>::max();
  if (!read_optional_integer(values[kAttemptsRemaining], kAnyMin, kAnyMax,
                             reply.attempts_remaining) ||
      !read_optional_integer(values[kCodeLength], kAnyMin, kAnyMax, reply.code_length) ||
      !read_optional_integer(values[kRetryAfterSeconds], 0, kMaxRetryAfterSeconds,
                             reply.retry_after_seconds) ||
      !read_optional_integer(values[kRateLimitLimit], 0, kMaxCount, reply.rate_limit_limit) ||
      !read_optional_integer(values[kRateLimitRemaining], 0, kMaxCount,
                             reply.rate_limit_remaining) ||
      !read_optional_integer(values[kRateLimitResetSeconds], 0, kMaxCount,
                             reply.rate_limit_reset_seconds) ||
      !read_optional_integer(values[kFailuresRemaining], 0, kMaxCount, reply.failures_remaining)) {
    return std::nullopt;
  }
  if (present(values[kExpiresAt])) {
    if (!is_string(values[kExpiresAt], kMaxTimeLength)) return std::nullopt;
    auto expires_at = parse_rfc3339(values[kExpiresAt].text);
    if (!expires_at) return std::nullopt;
    reply.expires_at = *expires_at;
  }
  if (present(values[kChannel])) {
    if (!is_string(values[kChannel], kMaxChannelLength)) return std::nullopt;
    auto channel = parse_channel(values[kChannel].text);
    if (!channel) return std::nullopt;
    reply.channel = *channel;
  }
  if (!read_optional_string(values[kMessage], kMaxMessageLength, reply.message) ||
      !read_optional_string(values[kProvider], kMaxProviderLength, reply.provider)) {
    return std::nullopt;
  }
  return reply;
}

}  // namespace otp::messages::detail
