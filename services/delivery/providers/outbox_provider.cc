#include "services/delivery/providers/outbox_provider.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace otp::delivery {
namespace {

constexpr mode_t kOwnerReadWrite = S_IRUSR | S_IWUSR;

std::system_error errno_error(const std::string& what) {
  return {errno, std::generic_category(), what};
}

// Writes all of `data`, retrying short writes and EINTR.
bool write_fully(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t written = ::write(fd, data.data(), data.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(written));
  }
  return true;
}

}  // namespace

OutboxProvider::OutboxProvider(const std::filesystem::path& path, const Clock& clock)
    : clock_(clock),
      fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, kOwnerReadWrite)),
      started_unix_ms_(to_unix_ms(clock.now())) {
  if (fd_ < 0) throw errno_error("cannot open outbox file " + path.string());
  // The mode passed to open() only applies to a new file: tighten an existing one as well, since
  // the file holds codes in clear.
  if (::fchmod(fd_, kOwnerReadWrite) != 0) {
    auto error = errno_error("cannot chmod 0600 outbox file " + path.string());
    ::close(fd_);
    throw error;
  }
}

OutboxProvider::~OutboxProvider() { ::close(fd_); }

Result<ProviderReceipt> OutboxProvider::send(const OutboundMessage& message) {
  const auto sequence = next_sequence_.fetch_add(1, std::memory_order_relaxed);
  const TimePoint now = clock_.now();
  ProviderReceipt receipt{
      .provider = std::string(name()),
      .message_id = "outbox-" + std::to_string(started_unix_ms_) + "-" + std::to_string(sequence),
      .latency = {}};

  const nlohmann::json line = {
      {"time", format_rfc3339(now)},
      {"provider", receipt.provider},
      {"message_id", receipt.message_id},
      {"channel", message.channel},
      {"to", message.to},
      {"tenant", message.tenant},
      {"verification_id", message.verification_id},
      {"job_id", message.job_id},
      {"subject", message.subject},
      {"body", message.body},
  };
  // `replace` keeps invalid UTF-8 from throwing: the outbox must not fail on a bad template.
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text.push_back('\n');

  const std::lock_guard lock(write_mutex_);
  if (!write_fully(fd_, text)) {
    const int write_errno = errno;
    return fail(Errc::kUnavailable, "outbox write failed for job " + message.job_id + ": " +
                                        std::generic_category().message(write_errno));
  }
  return receipt;
}

}  // namespace otp::delivery
