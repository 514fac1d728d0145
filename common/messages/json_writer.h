#pragma once

#include <nlohmann/json.hpp>

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace otp::messages {

/// Appends `text` as a JSON string literal, escaped as `nlohmann::json::dump()` escapes: `"` and
/// `\`, the short escapes \b \f \n \r \t, other control characters as \u00xx, every other
/// byte as is. `text` must be valid UTF-8 (the caller checks, or knows it is ASCII).
inline void append_escaped_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    switch (byte) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (byte < 0x20) {
          out.append("\\u00");
          out.push_back(kHex[byte >> 4]);
          out.push_back(kHex[byte & 0xf]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

/// Writes one flat JSON object straight into a string, without building a tree first: the
/// payload encoders' fast path. The text is exactly what `nlohmann::json::dump()` writes for the
/// same object (no spaces, strings escaped the same way) provided the caller adds the members in
/// ascending key order, which is the order nlohmann's std::map keeps; the messages tests check
/// `encode(m) == json::parse(encode(m)).dump()` for every payload type.
///
/// Keys are the encoders' own ASCII literals and are not escaped.
class JsonObjectWriter {
 public:
  JsonObjectWriter() {
    out_.reserve(512);
    out_.push_back('{');
  }

  void string(std::string_view key, std::string_view value) {
    name(key);
    append_string(out_, value);
  }

  void integer(std::string_view key, std::int64_t value) {
    name(key);
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
    out_.append(digits, end);
  }

  void boolean(std::string_view key, bool value) {
    name(key);
    out_.append(value ? "true" : "false");
  }

  /// A value that is already JSON text (a nested object or array written elsewhere).
  void raw(std::string_view key, std::string_view json_text) {
    name(key);
    out_.append(json_text);
  }

  /// An array of strings.
  template <class Range, class ToText>
  void strings(std::string_view key, const Range& items, ToText to_text) {
    name(key);
    out_.push_back('[');
    bool first = true;
    for (const auto& item : items) {
      if (!first) out_.push_back(',');
      first = false;
      append_string(out_, to_text(item));
    }
    out_.push_back(']');
  }

  [[nodiscard]] std::string finish() && {
    out_.push_back('}');
    return std::move(out_);
  }

  /// Appends `value` as a JSON string, escaped as nlohmann's dump does. A string that is not
  /// valid UTF-8 is left to nlohmann, which refuses it the way it always did.
  static void append_string(std::string& out, std::string_view value) {
    for (const char c : value) {
      if (static_cast<unsigned char>(c) >= 0x80) {
        // Rare in these payloads (ids, E.164 numbers, addresses are ASCII): let nlohmann check
        // the UTF-8 and escape it exactly as before.
        out += nlohmann::json(std::string(value)).dump();
        return;
      }
    }
    append_escaped_json_string(out, value);
  }

 private:
  void name(std::string_view key) {
    if (out_.size() > 1) out_.push_back(',');
    out_.push_back('"');
    out_.append(key);
    out_.append("\":");
  }

  std::string out_;
};

}  // namespace otp::messages
