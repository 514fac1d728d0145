#pragma once

#include "common/config/env.h"
#include "common/error/error.h"
#include "common/pg/pg_connection.h"
#include "services/delivery/templates/template_store.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace otp::delivery {

/// Tenant templates and sender defaults from PostgreSQL (tables `message_templates` and
/// `tenant_senders`, migration 0007), served from memory: a background thread re-reads both
/// tables every `refresh` and swaps the snapshot. A failed refresh keeps the last good snapshot
/// (logged), so a database outage never stops delivery; before the first successful load the
/// store is empty and the built-ins apply. Reads are thread-safe and never touch the database.
class PgTemplateStore final : public TemplateStore {
 public:
  PgTemplateStore(config::Secret url, std::chrono::milliseconds refresh);
  ~PgTemplateStore() override;
  PgTemplateStore(const PgTemplateStore&) = delete;
  PgTemplateStore& operator=(const PgTemplateStore&) = delete;

  /// Loads once now (start-up, tests), then starts the refresh thread (once; a second call only
  /// loads). The first load's error is returned (the thread keeps trying).
  Result<void> start();
  /// Loads once now, on the caller's thread.
  Result<void> refresh_now();

  /// Both tables -> a snapshot. Public for tests and `otpctl template list`.
  [[nodiscard]] static Result<TemplateSnapshot> load(pg::PgConnection& db);

  [[nodiscard]] std::optional<StoredTemplate> find(const std::string& tenant,
                                                   const std::string& channel,
                                                   const std::string& locale,
                                                   const std::string& name) const override {
    return memory_.find(tenant, channel, locale, name);
  }
  [[nodiscard]] std::optional<SenderDefaults> sender_defaults(
      const std::string& tenant, const std::string& channel) const override {
    return memory_.sender_defaults(tenant, channel);
  }

 private:
  void run();

  pg::PgConnection db_;
  std::mutex db_mutex_;
  std::chrono::milliseconds refresh_;
  InMemoryTemplateStore memory_;
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace otp::delivery
