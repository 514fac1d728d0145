#include "services/intake/pending_replies.h"

#include <vector>

namespace otp::intake {

void PendingReplies::add(std::string correlation_id, SteadyTime deadline, ReplyCallback done) {
  std::lock_guard lock(mutex_);
  const bool earliest = deadlines_.empty() || deadline < deadlines_.begin()->first;
  deadlines_.emplace(deadline, correlation_id);
  entries_.insert_or_assign(
      std::move(correlation_id),
      Entry{.deadline = deadline, .published = false, .done = std::move(done)});
  if (earliest) {
    earlier_deadline_ = true;
    deadline_added_.notify_all();
  }
}

void PendingReplies::mark_published(const std::string& correlation_id) {
  std::lock_guard lock(mutex_);
  if (auto it = entries_.find(correlation_id); it != entries_.end()) it->second.published = true;
}

bool PendingReplies::fail(const std::string& correlation_id, Error error) {
  std::optional<Entry> entry;
  {
    std::lock_guard lock(mutex_);
    entry = take_locked(correlation_id);
  }
  if (!entry) return false;
  entry->done(tl::unexpected(std::move(error)));
  return true;
}

bool PendingReplies::complete(const messages::Reply& reply) {
  std::optional<Entry> entry;
  {
    std::lock_guard lock(mutex_);
    entry = take_locked(reply.correlation_id);
  }
  if (!entry) return false;
  entry->done(reply);
  return true;
}

std::optional<PendingReplies::SteadyTime> PendingReplies::expire_due(SteadyTime now) {
  std::vector<Entry> due;
  std::optional<SteadyTime> next;
  {
    std::lock_guard lock(mutex_);
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      const std::string correlation_id = deadlines_.begin()->second;
      if (auto entry = take_locked(correlation_id)) {
        due.push_back(std::move(*entry));
      } else {
        deadlines_.erase(deadlines_.begin());  // cannot happen: both maps change together
      }
    }
    if (!deadlines_.empty()) next = deadlines_.begin()->first;
  }
  for (auto& entry : due) {
    if (entry.published) {
      entry.done(otp::fail(Errc::kTimeout, "no reply before the deadline"));
    } else {
      entry.done(
          otp::fail(Errc::kUnavailable, "request not acknowledged by Kafka before the deadline"));
    }
  }
  return next;
}

void PendingReplies::fail_all(const Error& error) {
  std::unordered_map<std::string, Entry> all;
  {
    std::lock_guard lock(mutex_);
    all.swap(entries_);
    deadlines_.clear();
  }
  for (auto& [correlation_id, entry] : all) entry.done(tl::unexpected(error));
}

std::size_t PendingReplies::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

void PendingReplies::run_expiry(const std::stop_token& stop) {
  // Without pending requests there is nothing to do until one is added; the bound only limits
  // how long a missed notification could go unnoticed.
  constexpr auto kIdleWait = std::chrono::seconds(1);
  while (!stop.stop_requested()) {
    const auto next = expire_due(std::chrono::steady_clock::now());
    std::unique_lock lock(mutex_);
    const auto wake = next.value_or(std::chrono::steady_clock::now() + kIdleWait);
    deadline_added_.wait_until(lock, stop, wake, [this] { return earlier_deadline_; });
    earlier_deadline_ = false;
  }
}

std::optional<PendingReplies::Entry> PendingReplies::take_locked(
    const std::string& correlation_id) {
  auto it = entries_.find(correlation_id);
  if (it == entries_.end()) return std::nullopt;
  Entry entry = std::move(it->second);
  entries_.erase(it);
  auto [first, last] = deadlines_.equal_range(entry.deadline);
  for (auto d = first; d != last; ++d) {
    if (d->second == correlation_id) {
      deadlines_.erase(d);
      break;
    }
  }
  return entry;
}

}  // namespace otp::intake
