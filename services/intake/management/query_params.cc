#include "services/intake/management/query_params.h"

#include <algorithm>
#include <cstdint>

namespace otp::intake::management {
namespace {

constexpr std::size_t kMaxQueryLength = 4096;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
bool is_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    std::size_t extra = 0;
    std::uint32_t code = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
      code = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      code = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    if ((extra == 2 && (code < 0x800 || (code >= 0xD800 && code <= 0xDFFF))) ||
        (extra == 3 && (code < 0x10000 || code > 0x10FFFF))) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

/// A name safe to repeat in an error message.
bool is_plain_name(std::string_view name) {
  return !name.empty() && name.size() <= 32 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || c == '_';
  });
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int high = hex_value(text[i + 1]);
      int low = hex_value(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else {
      out += c;
    }
  }
  if (!is_utf8(out)) return std::nullopt;
  for (unsigned char c : out) {
    if (c < 0x20 || c == 0x7F) return std::nullopt;
  }
  return out;
}

ApiResult<QueryParams> QueryParams::parse(std::string_view raw,
                                          std::span<const std::string_view> allowed) {
  QueryParams params;
  if (raw.empty()) return params;
  if (raw.size() > kMaxQueryLength) return tl::unexpected(invalid_request("query string too long"));
  std::size_t start = 0;
  while (start <= raw.size()) {
    auto end = raw.find('&', start);
    if (end == std::string_view::npos) end = raw.size();
    auto pair = raw.substr(start, end - start);
    start = end + 1;
    if (pair.empty()) return tl::unexpected(invalid_request("query string has an empty parameter"));
    auto equals = pair.find('=');
    auto raw_name = pair.substr(0, equals);
    auto name = percent_decode(raw_name);
    if (!name || !is_plain_name(*name) ||
        std::find(allowed.begin(), allowed.end(), *name) == allowed.end()) {
      return tl::unexpected(invalid_request(name && is_plain_name(*name)
                                                ? "unknown query parameter '" + *name + "'"
                                                : std::string("unknown query parameter")));
    }
    if (equals == std::string_view::npos) {
      return tl::unexpected(invalid_request("query parameter '" + *name + "' needs a value"));
    }
    auto value = percent_decode(pair.substr(equals + 1));
    if (!value) {
      return tl::unexpected(
          invalid_request("query parameter '" + *name + "' is not valid percent-encoded UTF-8"));
    }
    if (params.get(*name)) {
      return tl::unexpected(invalid_request("query parameter '" + *name + "' is given twice"));
    }
    params.items_.emplace_back(std::move(*name), std::move(*value));
    if (end == raw.size()) break;
  }
  return params;
}

std::optional<std::string> QueryParams::get(std::string_view name) const {
  for (const auto& [key, value] : items_) {
    if (key == name) return value;
  }
  return std::nullopt;
}

}  // namespace otp::intake::management
