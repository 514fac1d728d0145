#pragma once

#include "common/random/rng.h"

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

namespace otp::intake {

/// Hands out the bytes of another Rng (the CSPRNG) from a buffer it refills `buffer_bytes` at a
/// time, so that a request's three small draws (request id, verification id, correlation id)
/// do not each pay `RAND_bytes`' fixed cost (about 5 % of the intake's CPU per send under load,
/// docs/performance.md, "HTTP intake").
///
/// Every byte comes from `source` and is handed out exactly once, in order; handed-out bytes are
/// wiped from the buffer at once, and the rest when the object is destroyed. Draws of at least a
/// quarter of the buffer go to `source` directly. Thread-safe (one mutex); holds `source` by
/// reference.
class BufferedRng final : public Rng {
 public:
  static constexpr std::size_t kDefaultBufferBytes = 4096;

  explicit BufferedRng(Rng& source, std::size_t buffer_bytes = kDefaultBufferBytes);
  ~BufferedRng() override;
  BufferedRng(const BufferedRng&) = delete;
  BufferedRng& operator=(const BufferedRng&) = delete;

  void fill(std::span<std::uint8_t> out) override;

 private:
  Rng& source_;
  std::mutex mutex_;
  std::vector<std::uint8_t> buffer_;  // guarded by mutex_
  std::size_t next_;                  // guarded by mutex_: first byte not handed out yet
};

}  // namespace otp::intake
