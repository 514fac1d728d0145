#pragma once

#include <string>

namespace otp::redis {

/// A Lua script and its SHA-1, computed locally exactly as Redis does for `SCRIPT LOAD`, so that
/// `EVALSHA` can be tried before the script was ever loaded (`RedisClient::run_script` loads it on
/// `NOSCRIPT`). Immutable; safe to share between threads.
class RedisScript {
 public:
  /// `name` is for messages and logs only (e.g. `issue`).
  RedisScript(std::string name, std::string source);

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] const std::string& source() const noexcept { return source_; }
  /// Lowercase hex SHA-1 of `source`: 40 characters.
  [[nodiscard]] const std::string& sha() const noexcept { return sha_; }

 private:
  std::string name_;
  std::string source_;
  std::string sha_;
};

}  // namespace otp::redis
