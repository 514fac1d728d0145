#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace otp {

/// A source of random bytes, injected so that tests can be deterministic. Production uses
/// `OpenSslRng` (a CSPRNG); codes, ids and nonces all come from here. Implementations are
/// thread-safe.
class Rng {
 public:
  virtual ~Rng() = default;
  virtual void fill(std::span<std::uint8_t> out) = 0;
};

/// OpenSSL `RAND_bytes`. Aborts if the CSPRNG fails: no code may come from a weak source.
class OpenSslRng final : public Rng {
 public:
  void fill(std::span<std::uint8_t> out) override;
};

/// Lowercase hex of `bytes` random bytes.
[[nodiscard]] std::string random_hex(Rng& rng, std::size_t bytes);

/// `otp_` followed by 32 lowercase hex digits (128 random bits).
[[nodiscard]] std::string new_verification_id(Rng& rng);

/// A random UUID (version 4), for request, correlation and event ids.
[[nodiscard]] std::string new_uuid(Rng& rng);

/// Whether `id` has the shape `otp_` + 32 lowercase hex digits.
[[nodiscard]] bool is_verification_id(std::string_view id) noexcept;

}  // namespace otp
