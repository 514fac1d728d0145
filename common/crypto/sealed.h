#pragma once

#include <string>

namespace otp::crypto {

/// A value sealed with AES-256-GCM: `data` is base64(nonce(12) || ciphertext || tag(16)) and
/// `key_id` names the sealing key in the key ring.
struct Sealed {
  std::string key_id;
  std::string data;
};

}  // namespace otp::crypto
