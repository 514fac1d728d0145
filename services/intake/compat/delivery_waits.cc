#include "services/intake/compat/delivery_waits.h"

namespace otp::intake::compat {

void PendingDeliveryWaits::expect(const std::string& delivery_correlation_id,
                                  std::chrono::milliseconds timeout, ReplyCallback done) {
  pending_.add(delivery_correlation_id, std::chrono::steady_clock::now() + timeout,
               std::move(done));
  pending_.mark_published(delivery_correlation_id);
}

void PendingDeliveryWaits::forget(const std::string& delivery_correlation_id) {
  (void)pending_.fail(delivery_correlation_id, Error{Errc::kInternal, "no longer awaited"});
}

}  // namespace otp::intake::compat
