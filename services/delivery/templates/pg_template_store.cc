#include "services/delivery/templates/pg_template_store.h"

#include <spdlog/spdlog.h>

namespace otp::delivery {
namespace {

std::string text(const pg::Row& row, std::size_t column) {
  return column < row.size() && row[column] ? *row[column] : std::string();
}

}  // namespace

PgTemplateStore::PgTemplateStore(config::Secret url, std::chrono::milliseconds refresh)
    : db_(std::move(url), pg::PgOptions{.application_name = "otp-delivery-templates",
                                        .statement_timeout = std::chrono::seconds(10)}),
      refresh_(refresh) {}

PgTemplateStore::~PgTemplateStore() {
  {
    std::lock_guard lock(stop_mutex_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Result<TemplateSnapshot> PgTemplateStore::load(pg::PgConnection& db) {
  TemplateSnapshot snapshot;
  auto done = db.transact([&](pg::Transaction& tx) -> Result<void> {
    snapshot = TemplateSnapshot{};
    auto templates = tx.exec(
        "SELECT tenant_id, channel, locale, name, subject, body, sender FROM message_templates");
    if (!templates) return tl::unexpected(templates.error());
    for (const auto& row : *templates) {
      snapshot.add(StoredTemplate{.tenant = text(row, 0),
                                  .channel = text(row, 1),
                                  .locale = text(row, 2),
                                  .name = text(row, 3),
                                  .subject = text(row, 4),
                                  .body = text(row, 5),
                                  .sender = text(row, 6)});
    }
    auto senders = tx.exec("SELECT tenant_id, channel, sender, brand FROM tenant_senders");
    if (!senders) return tl::unexpected(senders.error());
    for (const auto& row : *senders) {
      snapshot.set_sender(text(row, 0), text(row, 1),
                          SenderDefaults{.sender = text(row, 2), .brand = text(row, 3)});
    }
    return {};
  });
  if (!done) return tl::unexpected(done.error());
  return snapshot;
}

Result<void> PgTemplateStore::refresh_now() {
  std::lock_guard lock(db_mutex_);
  auto snapshot = load(db_);
  if (!snapshot) return tl::unexpected(snapshot.error());
  memory_.replace(std::move(*snapshot));
  return {};
}

Result<void> PgTemplateStore::start() {
  auto first = refresh_now();
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });  // started once
  return first;
}

void PgTemplateStore::run() {
  std::unique_lock lock(stop_mutex_);
  while (!stop_cv_.wait_for(lock, refresh_, [this] { return stop_; })) {
    lock.unlock();
    if (auto refreshed = refresh_now(); !refreshed) {
      spdlog::warn("delivery.templates_refresh_failed reason=\"{}\"", refreshed.error().message);
    }
    lock.lock();
  }
}

}  // namespace otp::delivery
