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

BackoffWaiter::~BackoffWaiter() {
  if (!paused_) return;
  if (auto resumed = consumer_->resume_all(); !resumed) {
    spdlog::warn("kafka.resume_failed error=\"{}\"", resumed.error().message);
  }
}

bool BackoffWaiter::wait(std::chrono::milliseconds duration, const std::atomic<bool>& stop) {
  if (consumer_ == nullptr) return sleep_unless_stopped(duration, stop);
  if (!paused_) {
    if (auto paused = consumer_->pause_all(); !paused) {
      spdlog::warn("kafka.pause_failed error=\"{}\"", paused.error().message);
      return sleep_unless_stopped(duration, stop);
    }
    paused_ = true;
  }
  constexpr auto kStep = std::chrono::milliseconds(50);
  auto deadline = std::chrono::steady_clock::now() + duration;
  while (!stop.load()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return true;
    auto polled = consumer_->poll(std::min(left, kStep));
    if (!polled) return false;  // fatal: the run loop's next poll reports it
    if (*polled) {
      // Fetched before the pause (or from a partition assigned meanwhile): read it again later.
      if (auto rewound = consumer_->rewind_to(**polled); !rewound) {
        spdlog::warn("kafka.rewind_failed topic={} partition={} offset={} error=\"{}\"",
                     (*polled)->topic, (*polled)->partition, (*polled)->offset,
                     rewound.error().message);
      }
    }
  }
  return false;
}

}  // namespace otp::kafka
