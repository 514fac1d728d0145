#pragma once

#include "services/audit/event_store.h"

#include <cstddef>
#include <unistd.h>

namespace otp::audit {

/// TEST-ONLY fault injection (OTP_AUDIT_CRASH_AFTER_COMMIT=N): wraps the real store and ends the
/// process with `_exit(137)` (what `kill -9` looks like to a supervisor) right after the Nth
/// successful `write`, that is after the database committed and before `BatchRunner` stores the
/// batch's offsets: the window in which a crash makes the next run replay a committed batch.
/// Never configured in production (the key is unset by default and documented as test-only).
class CrashAfterCommitStore final : public EventStore {
 public:
  CrashAfterCommitStore(EventStore& inner, std::size_t crash_after)
      : inner_(inner), crash_after_(crash_after) {}

  [[nodiscard]] Result<WriteSummary> write(std::span<const messages::Event> events) override {
    auto written = inner_.write(events);
    if (written && ++commits_ == crash_after_) ::_exit(137);
    return written;
  }

 private:
  EventStore& inner_;
  std::size_t crash_after_;
  std::size_t commits_ = 0;
};

}  // namespace otp::audit
