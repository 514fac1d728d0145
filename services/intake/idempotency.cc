#include "services/intake/idempotency.h"

#include "common/crypto/digest.h"

#include <algorithm>

namespace otp::intake {
namespace {

// Fields are joined with a separator no key can contain (keys are visible ASCII; tenants and
// verification ids have no control characters), so distinct inputs never share a seed.
constexpr char kSeparator = '\x1f';

std::string seed(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto part : parts) {
    if (!out.empty()) out += kSeparator;
    out.append(part);
  }
  return out;
}

}  // namespace

ApiResult<std::optional<std::string>> idempotency_key(const HttpRequest& request) {
  auto header = request.header("Idempotency-Key");
  if (!header) return std::optional<std::string>{};
  const std::string_view key = *header;
  const bool visible = std::all_of(key.begin(), key.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte >= 0x21 && byte <= 0x7e;
  });
  if (key.empty() || key.size() > kMaxIdempotencyKeyLength || !visible) {
    return tl::unexpected(invalid_request("Idempotency-Key must be 1 to " +
                                          std::to_string(kMaxIdempotencyKeyLength) +
                                          " visible ASCII characters"));
  }
  return std::optional<std::string>(std::string(key));
}

RequestIds send_ids_for_key(std::string_view tenant, std::string_view key) {
  return RequestIds{
      .request_id = crypto::derived_uuid(seed({"idempotency", tenant, "send", key})),
      .verification_id =
          "otp_" +
          crypto::sha256_hex(seed({"idempotency", tenant, "send-verification", key})).substr(0, 32),
  };
}

std::string action_request_id_for_key(std::string_view tenant, std::string_view operation,
                                      std::string_view verification_id, std::string_view key) {
  return crypto::derived_uuid(seed({"idempotency", tenant, operation, verification_id, key}));
}

}  // namespace otp::intake
