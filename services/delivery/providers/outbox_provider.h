#pragma once

#include "common/time/clock.h"
#include "services/delivery/providers/provider.h"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <mutex>

namespace otp::delivery {

/// DEV ONLY. A provider that "delivers" by appending one JSON line per message to a local file:
///
///   {"time":"2026-11-21T21:30:00.123Z","provider":"outbox","message_id":"outbox-...-1",
///    "channel":"sms","to":"+14155550100","tenant":"acme","verification_id":"otp_...",
///    "job_id":"...","subject":"","body":"Your code is 123456"}
///
/// It is the ONLY place in the codebase where a code is ever written in clear, so that a developer
/// (or the e2e suite) can read it back. It must never be configured in production: the file holds
/// live codes and full recipients. The file is created with mode 0600, opened in append mode, and
/// each line is written with a single write(2): flushed to the kernel, not fsync'ed.
///
/// Thread-safe (a mutex serialises writes). Owns the file descriptor for its lifetime.
class OutboxProvider final : public Provider {
 public:
  /// Opens (creating if needed) `path`. Throws `std::system_error` if it cannot (start-up only).
  OutboxProvider(const std::filesystem::path& path, const Clock& clock);
  ~OutboxProvider() override;
  OutboxProvider(const OutboxProvider&) = delete;
  OutboxProvider& operator=(const OutboxProvider&) = delete;

  [[nodiscard]] std::string_view name() const override { return "outbox"; }

  /// Appends the line; `kUnavailable` if the write fails (disk full, file gone read-only).
  [[nodiscard]] Result<ProviderReceipt> send(const OutboundMessage& message) override;

 private:
  const Clock& clock_;
  int fd_;
  std::int64_t started_unix_ms_;  ///< with the counter, makes ids unique across restarts
  std::atomic<std::uint64_t> next_sequence_{1};
  std::mutex write_mutex_;
};

}  // namespace otp::delivery
