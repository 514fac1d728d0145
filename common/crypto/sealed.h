#pragma once

#include <string>

namespace otp::crypto {

/// A secret sealed with AES-256-GCM by `Sealer`, in the form it travels in Kafka messages
/// (e.g. the code inside a DeliveryJob).
///
/// `key_id` names the key-ring entry that sealed it, so a consumer holding a rotated ring can still
/// open it. `data` is standard, padded base64 of `nonce(12) || ciphertext || tag(16)`; the
/// additional authenticated data (the verification id) is not carried and must be supplied again
/// to unseal. A plain value: copy and compare freely.
struct Sealed {
  std::string key_id;
  std::string data;

  bool operator==(const Sealed&) const = default;
};

}  // namespace otp::crypto
