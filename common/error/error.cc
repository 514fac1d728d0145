#include "common/error/error.h"

namespace otp {

std::string_view to_string(Errc code) noexcept {
  switch (code) {
    case Errc::kInvalidInput:
      return "invalid_input";
    case Errc::kNotFound:
      return "not_found";
    case Errc::kRateLimited:
      return "rate_limited";
    case Errc::kUnavailable:
      return "unavailable";
    case Errc::kTimeout:
      return "timeout";
    case Errc::kPermanent:
      return "permanent";
    case Errc::kInternal:
      return "internal";
  }
  return "unknown";
}

}  // namespace otp
