#pragma once

#include "common/crypto/key_ring.h"
#include "common/crypto/sealed.h"
#include "common/error/error.h"
#include "common/random/rng.h"

#include <string>
#include <string_view>

namespace otp::crypto {

/// Encrypts short secrets (OTP codes on their way to otp-delivery) with AES-256-GCM.
///
/// `seal` uses the ring's active key and a fresh 12-byte nonce from `rng`; the 16-byte tag also
/// authenticates `aad`, which is the verification id, so a sealed code cannot be replayed under
/// another verification. `unseal` picks the key named in `Sealed::key_id`, so payloads sealed
/// before a rotation still open while the old key remains in the ring.
///
/// Holds references to `keys` and `rng`, which must outlive it. Cipher contexts are per thread
/// (set up once per key and thread, then only given a new nonce), so a Sealer is thread-safe if
/// `rng` is.
class Sealer {
 public:
  static constexpr std::size_t kNonceBytes = 12;
  static constexpr std::size_t kTagBytes = 16;

  Sealer(const KeyRing& keys, Rng& rng) : keys_(keys), rng_(rng) {}

  [[nodiscard]] Sealed seal(std::string_view plaintext, std::string_view aad) const;

  /// The plaintext, or kInvalidInput if the key id is unknown, `data` is not strict base64 or is
  /// too short, or authentication fails (tampered data, wrong key or wrong `aad`). Never aborts on
  /// bad input.
  [[nodiscard]] Result<std::string> unseal(const Sealed& sealed, std::string_view aad) const;

 private:
  const KeyRing& keys_;
  Rng& rng_;
};

}  // namespace otp::crypto
