#include "common/kafka/stage_runner.h"

namespace otp::kafka {

bool sleep_unless_stopped(std::chrono::milliseconds duration, const std::atomic<bool>& stop) {
  constexpr auto kStep = std::chrono::milliseconds(20);
  auto deadline = std::chrono::steady_clock::now() + duration;
  while (std::chrono::steady_clock::now() < deadline) {
    if (stop.load()) return false;
    std::this_thread::sleep_for(kStep);
  }
  return !stop.load();
}

}  // namespace otp::kafka
