#pragma once

#include "common/error/check.h"

#include <openssl/crypto.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace otp::crypto::detail {

/// The last few OpenSSL contexts one thread set up with a key (the key schedule of AES, the padded
/// key state of HMAC), so that a call only resets one instead of fetching an algorithm by name
/// and deriving the key's state again. Internal to common/crypto; use one `thread_local`
/// instance per kind of context.
///
/// `Context` is the OpenSSL type, `free_context` its free function. Keys are compared with
/// CRYPTO_memcmp, and the copies kept here are cleansed when they leave the cache. At most
/// `kEntries` keys are kept (a process uses one or two per ring); a new key re-keys the oldest
/// entry's context.
template <typename Context, void (*free_context)(Context*)>
class KeyedContexts {
 public:
  static constexpr std::size_t kEntries = 4;

  KeyedContexts() = default;
  KeyedContexts(const KeyedContexts&) = delete;
  KeyedContexts& operator=(const KeyedContexts&) = delete;
  ~KeyedContexts() {
    for (auto& entry : entries_) forget(entry);
  }

  /// The context set up for `key`: a cached one; else the oldest entry's context given the new
  /// key by `rekey(context, key)`, or while the cache fills, `make(key)` (a new context already set
  /// up with that key). Both abort on failure.
  template <typename Make, typename Rekey>
  Context* get(std::span<const std::uint8_t> key, Make&& make, Rekey&& rekey) {
    for (auto& entry : entries_) {
      if (entry.context != nullptr && entry.key.size() == key.size() &&
          (key.empty() || CRYPTO_memcmp(entry.key.data(), key.data(), key.size()) == 0)) {
        return entry.context.get();
      }
    }
    Entry& slot = entries_[next_];
    next_ = (next_ + 1) % kEntries;
    if (!slot.key.empty()) OPENSSL_cleanse(slot.key.data(), slot.key.size());
    slot.key.assign(key.begin(), key.end());
    if (slot.context != nullptr) {
      rekey(slot.context.get(), key);
    } else {
      slot.context.reset(make(key));
      OTP_CHECK(slot.context != nullptr);
    }
    return slot.context.get();
  }

 private:
  struct Free {
    void operator()(Context* context) const noexcept { free_context(context); }
  };
  struct Entry {
    std::vector<std::uint8_t> key;
    std::unique_ptr<Context, Free> context;
  };

  static void forget(Entry& entry) {
    if (!entry.key.empty()) OPENSSL_cleanse(entry.key.data(), entry.key.size());
    entry.key.clear();
    entry.context.reset();
  }

  std::array<Entry, kEntries> entries_;
  std::size_t next_ = 0;
};

}  // namespace otp::crypto::detail
