#pragma once

#include "common/error/error.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace otp::crypto {

/// One 256-bit secret key and the id it is known by in sealed payloads and configuration.
struct Key {
  std::string id;
  std::vector<std::uint8_t> bytes;  ///< exactly 32 bytes when it comes from a KeyRing
};

/// The server's secret keys, parsed once at start-up from configuration such as
/// `OTP_SEAL_KEYS=k2:<base64>,k1:<base64>`.
///
/// The first key is *active*: it computes new code HMACs and seals new payloads. The others only
/// verify and unseal, so a key can be rotated by prepending a new one and dropping the old one once
/// everything it protected has expired (see README.md). Ids match `[A-Za-z0-9_-]{1,32}` and are
/// unique; every key is exactly 32 bytes after standard base64 decoding.
///
/// Never empty once parsed. Immutable after parse, so safe to share between threads by `const&`;
/// `Sealer` and the HMAC helpers hold references, so the ring must outlive them.
class KeyRing {
 public:
  static constexpr std::size_t kKeyBytes = 32;
  static constexpr std::size_t kMaxIdLength = 32;

  /// Parses `id:base64[,id:base64...]` (spaces around entries are ignored). Errors are
  /// kInvalidInput and name the entry and the problem, never the key material.
  [[nodiscard]] static Result<KeyRing> parse(std::string_view spec);

  /// The key for new seals and code HMACs: the first in the spec.
  [[nodiscard]] const Key& active() const;
  /// The key with this id, or nullptr.
  [[nodiscard]] const Key* find(std::string_view id) const;
  [[nodiscard]] std::size_t size() const noexcept { return keys_.size(); }
  /// Every key, the active one first.
  [[nodiscard]] std::span<const Key> keys() const noexcept { return keys_; }

 private:
  explicit KeyRing(std::vector<Key> keys) : keys_(std::move(keys)) {}

  std::vector<Key> keys_;
};

/// Whether `id` matches `[A-Za-z0-9_-]{1,32}`, the shape of every key id in a KeyRing.
[[nodiscard]] bool is_valid_key_id(std::string_view id) noexcept;

}  // namespace otp::crypto
