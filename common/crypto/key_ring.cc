#include "common/crypto/key_ring.h"

#include "common/crypto/base64.h"
#include "common/error/check.h"

#include <openssl/crypto.h>

#include <algorithm>

namespace otp::crypto {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Messages name the entry by position and, once it is known to be well-formed, by id; they never
// quote the entry itself, which could be key material pasted into the wrong place.
tl::unexpected<Error> entry_error(std::size_t position, const std::string& problem) {
  return fail(Errc::kInvalidInput, "key ring entry " + std::to_string(position) + ": " + problem);
}

Result<Key> parse_entry(std::string_view entry, std::size_t position) {
  if (entry.empty()) return entry_error(position, "is empty");
  const auto colon = entry.find(':');
  if (colon == std::string_view::npos) return entry_error(position, "is not id:base64");
  const auto id = entry.substr(0, colon);
  if (!is_valid_key_id(id)) {
    return entry_error(position, "key id must match [A-Za-z0-9_-]{1,32}");
  }
  auto decoded = base64_decode(entry.substr(colon + 1));
  if (!decoded) {
    return entry_error(position, "key '" + std::string(id) + "' is not valid base64");
  }
  Key key{std::string(id), {decoded->begin(), decoded->end()}};
  const auto length = decoded->size();
  OPENSSL_cleanse(decoded->data(), decoded->size());
  if (length != KeyRing::kKeyBytes) {
    return entry_error(position,
                       "key '" + key.id + "' must be 32 bytes, got " + std::to_string(length));
  }
  return key;
}

}  // namespace

Result<KeyRing> KeyRing::parse(std::string_view spec) {
  if (trim(spec).empty()) return fail(Errc::kInvalidInput, "key ring is empty");
  std::vector<Key> keys;
  std::string_view rest = spec;
  for (std::size_t position = 1;; ++position) {
    const auto comma = rest.find(',');
    auto key = parse_entry(trim(rest.substr(0, comma)), position);
    if (!key) return tl::unexpected(std::move(key.error()));
    const bool duplicate =
        std::any_of(keys.begin(), keys.end(), [&](const Key& k) { return k.id == key->id; });
    if (duplicate) return entry_error(position, "duplicate key id '" + key->id + "'");
    keys.push_back(std::move(*key));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return KeyRing(std::move(keys));
}

const Key& KeyRing::active() const {
  OTP_CHECK(!keys_.empty());  // only a moved-from ring is empty
  return keys_.front();
}

const Key* KeyRing::find(std::string_view id) const {
  for (const auto& key : keys_) {
    if (key.id == id) return &key;
  }
  return nullptr;
}

bool is_valid_key_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > KeyRing::kMaxIdLength) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

}  // namespace otp::crypto
