#include "services/intake/management/page_cursor.h"

#include "common/crypto/base64.h"
#include "common/crypto/hmac.h"

#include <algorithm>
#include <charconv>

namespace otp::intake::management {
namespace {

constexpr std::size_t kMacChars = 32;
constexpr std::size_t kMaxCursorChars = 512;

bool is_id(std::string_view id) {
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '-';
  });
}

}  // namespace

std::string CursorCodec::mac(std::string_view endpoint, std::string_view tenant,
                             std::string_view payload) const {
  std::string message = "mgmt-cursor|";
  message.append(endpoint).append("|").append(tenant).append("|").append(payload);
  return crypto::hmac_sha256_hex(key_, message).substr(0, kMacChars);
}

std::string CursorCodec::encode(std::string_view endpoint, std::string_view tenant,
                                const PageKey& key) const {
  std::string payload = std::to_string(key.at_us) + "|" + key.id;
  return crypto::base64url_encode(payload + "|" + mac(endpoint, tenant, payload));
}

Result<PageKey> CursorCodec::decode(std::string_view endpoint, std::string_view tenant,
                                    std::string_view cursor) const {
  auto invalid = [] { return fail(Errc::kInvalidInput, "cursor is not valid"); };
  if (cursor.empty() || cursor.size() > kMaxCursorChars) return invalid();
  auto raw = crypto::base64url_decode(cursor);
  if (!raw) return invalid();
  auto last = raw->rfind('|');
  if (last == std::string::npos || raw->size() - last - 1 != kMacChars) return invalid();
  std::string_view payload(raw->data(), last);
  if (!crypto::constant_time_equal(std::string_view(*raw).substr(last + 1),
                                   mac(endpoint, tenant, payload))) {
    return invalid();
  }
  auto bar = payload.find('|');
  if (bar == std::string_view::npos) return invalid();
  PageKey key;
  auto digits = payload.substr(0, bar);
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), key.at_us);
  if (error != std::errc() || end != digits.data() + digits.size()) return invalid();
  key.id = std::string(payload.substr(bar + 1));
  if (!is_id(key.id)) return invalid();
  return key;
}

}  // namespace otp::intake::management
