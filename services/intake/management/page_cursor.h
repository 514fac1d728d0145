#pragma once

#include "common/error/error.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace otp::intake::management {

/// Where a page ends in a keyset ordered by (time DESC, id DESC): the last row's time in
/// microseconds since the epoch and its id.
struct PageKey {
  std::int64_t at_us = 0;
  std::string id;

  friend bool operator==(const PageKey&, const PageKey&) = default;
};

/// Opaque, tamper-proof page cursors: base64url of `at_us|id|mac`, where mac is the first 32
/// hex characters of HMAC-SHA256(key, "mgmt-cursor|" + endpoint + "|" + tenant + "|at_us|id").
/// A cursor is only valid for the endpoint and tenant it was issued for; anything altered,
/// truncated or issued under another key is kInvalidInput. Immutable; thread-safe.
class CursorCodec {
 public:
  /// `key`: at least 32 bytes.
  explicit CursorCodec(std::vector<std::uint8_t> key) : key_(std::move(key)) {}

  [[nodiscard]] std::string encode(std::string_view endpoint, std::string_view tenant,
                                   const PageKey& key) const;
  [[nodiscard]] Result<PageKey> decode(std::string_view endpoint, std::string_view tenant,
                                       std::string_view cursor) const;

 private:
  [[nodiscard]] std::string mac(std::string_view endpoint, std::string_view tenant,
                                std::string_view payload) const;
  std::vector<std::uint8_t> key_;
};

}  // namespace otp::intake::management
