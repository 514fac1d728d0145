#include "services/intake/buffered_rng.h"

#include <openssl/crypto.h>

#include <algorithm>

namespace otp::intake {

BufferedRng::BufferedRng(Rng& source, std::size_t buffer_bytes)
    : source_(source), buffer_(std::max<std::size_t>(buffer_bytes, 16)), next_(buffer_.size()) {}

BufferedRng::~BufferedRng() { OPENSSL_cleanse(buffer_.data(), buffer_.size()); }

void BufferedRng::fill(std::span<std::uint8_t> out) {
  if (out.empty()) return;
  if (out.size() >= buffer_.size() / 4) {
    source_.fill(out);
    return;
  }
  std::lock_guard lock(mutex_);
  if (buffer_.size() - next_ < out.size()) {
    // The few bytes left over are wiped and never handed out.
    OPENSSL_cleanse(buffer_.data() + next_, buffer_.size() - next_);
    source_.fill(buffer_);
    next_ = 0;
  }
  std::copy_n(buffer_.begin() + static_cast<std::ptrdiff_t>(next_), out.size(), out.begin());
  OPENSSL_cleanse(buffer_.data() + next_, out.size());
  next_ += out.size();
}

}  // namespace otp::intake
