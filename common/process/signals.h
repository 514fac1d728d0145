#pragma once

#include <atomic>

namespace otp::process {

/// Raises `stop` on SIGTERM or SIGINT (a second signal exits at once), and ignores SIGPIPE.
/// Call once in main() before starting threads; `stop` must outlive the process.
void stop_on_signals(std::atomic<bool>& stop);

}  // namespace otp::process
