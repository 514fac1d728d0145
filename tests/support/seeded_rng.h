#pragma once

#include "common/error/check.h"
#include "common/random/rng.h"

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <utility>
#include <vector>

namespace otp::test {

/// A deterministic Rng for tests: xoshiro256** seeded through splitmix64, so equal seeds give
/// equal byte streams on every platform. Statistically good, cryptographically worthless: tests
/// only. Thread-safe, like every Rng.
class SeededRng final : public Rng {
 public:
  explicit SeededRng(std::uint64_t seed = 42) {
    for (auto& word : state_) word = splitmix64(seed);
  }

  void fill(std::span<std::uint8_t> out) override {
    std::lock_guard lock(mutex_);
    std::size_t i = 0;
    while (i < out.size()) {
      std::uint64_t word = next();
      for (int b = 0; b < 8 && i < out.size(); ++b, ++i) {
        out[i] = static_cast<std::uint8_t>(word & 0xff);
        word >>= 8;
      }
    }
  }

 private:
  static std::uint64_t splitmix64(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  std::uint64_t next() {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  std::mutex mutex_;
  std::uint64_t state_[4]{};
};

/// An Rng that returns exactly the given bytes, in order, starting over when they run out; for
/// tests that need specific bytes (rejection sampling, fixed nonces, id shapes). Also counts the
/// calls to fill and the bytes handed out. Thread-safe.
class ScriptedRng final : public Rng {
 public:
  explicit ScriptedRng(std::vector<std::uint8_t> script) : script_(std::move(script)) {
    OTP_CHECK(!script_.empty());
  }

  void fill(std::span<std::uint8_t> out) override {
    std::lock_guard lock(mutex_);
    ++calls_;
    for (auto& byte : out) {
      byte = script_[position_];
      position_ = (position_ + 1) % script_.size();
      ++bytes_;
    }
  }

  [[nodiscard]] std::size_t calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  [[nodiscard]] std::size_t bytes() const {
    std::lock_guard lock(mutex_);
    return bytes_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::uint8_t> script_;
  std::size_t position_ = 0;
  std::size_t calls_ = 0;
  std::size_t bytes_ = 0;
};

}  // namespace otp::test
