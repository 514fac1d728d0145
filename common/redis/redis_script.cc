#include "common/redis/redis_script.h"

#include "common/error/check.h"

#include <openssl/evp.h>

#include <array>

namespace otp::redis {
namespace {

std::string sha1_hex(const std::string& text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  OTP_CHECK(EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha1(), nullptr) == 1);
  constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0x0f]);
  }
  return hex;
}

}  // namespace

RedisScript::RedisScript(std::string name, std::string source)
    : name_(std::move(name)), source_(std::move(source)), sha_(sha1_hex(source_)) {}

}  // namespace otp::redis
