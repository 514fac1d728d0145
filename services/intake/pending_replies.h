#pragma once

#include "common/error/error.h"
#include "common/messages/messages.h"
#include "services/intake/request_publisher.h"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <unordered_map>
#include <utility>

namespace otp::intake {

/// The requests that wait for a reply, by correlation id, each with a deadline.
///
/// Every entry ends exactly once, by whichever comes first: its reply (`complete`), a publishing
/// failure (`fail`), its deadline (`expire_due`), or shutdown (`fail_all`). The winner removes the
/// entry under the lock and runs the callback after releasing it, so callbacks may take their
/// time and may call back into this class; the losers find nothing and return false.
///
/// A deadline passed before the broker acknowledged the request ends it with kUnavailable (it
/// may not have been published); after the acknowledgement, with kTimeout.
///
/// Thread-safe. `run_expiry` is the body of the sweeper thread that enforces deadlines; tests call
/// `expire_due` directly with the time they want.
class PendingReplies {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;

  PendingReplies() = default;
  PendingReplies(const PendingReplies&) = delete;
  PendingReplies& operator=(const PendingReplies&) = delete;

  /// Registers a request. `correlation_id` must be unique among the pending ones.
  void add(std::string correlation_id, SteadyTime deadline, ReplyCallback done);

  /// Records that the broker acknowledged the request (for how its deadline ends).
  void mark_published(const std::string& correlation_id);

  /// Ends the request with `error`; false if it had already ended.
  bool fail(const std::string& correlation_id, Error error);

  /// Ends the request `reply` answers; false if none waits for it (late, or not ours).
  bool complete(const messages::Reply& reply);

  /// Ends every request whose deadline is at or before `now`. Returns the earliest deadline left.
  std::optional<SteadyTime> expire_due(SteadyTime now);

  /// Ends every pending request with `error` (shutdown).
  void fail_all(const Error& error);

  [[nodiscard]] std::size_t size() const;

  /// Expires requests on time until `stop` is requested: sleeps until the earliest deadline, and
  /// wakes early when an earlier one is added.
  void run_expiry(const std::stop_token& stop);

 private:
  struct Entry {
    SteadyTime deadline;
    bool published = false;
    ReplyCallback done;
  };

  /// Removes and returns the entry; nullopt if absent. Caller holds mutex_.
  std::optional<Entry> take_locked(const std::string& correlation_id);

  mutable std::mutex mutex_;
  std::condition_variable_any deadline_added_;
  std::unordered_map<std::string, Entry> entries_;
  std::multimap<SteadyTime, std::string> deadlines_;
  bool earlier_deadline_ = false;
};

}  // namespace otp::intake
