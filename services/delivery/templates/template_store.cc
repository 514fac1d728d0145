#include "services/delivery/templates/template_store.h"

namespace otp::delivery {

void TemplateSnapshot::add(StoredTemplate t) {
  Key key{t.tenant, t.channel, t.locale, t.name};
  templates.insert_or_assign(std::move(key), std::move(t));
}

void TemplateSnapshot::set_sender(const std::string& tenant, const std::string& channel,
                                  SenderDefaults defaults) {
  senders.insert_or_assign({tenant, channel}, std::move(defaults));
}

void InMemoryTemplateStore::replace(TemplateSnapshot snapshot) {
  auto next = std::make_shared<const TemplateSnapshot>(std::move(snapshot));
  std::lock_guard lock(mutex_);
  snapshot_ = std::move(next);
}

void InMemoryTemplateStore::put(StoredTemplate t) {
  std::lock_guard lock(mutex_);
  auto next = std::make_shared<TemplateSnapshot>(*snapshot_);
  next->add(std::move(t));
  snapshot_ = std::move(next);
}

void InMemoryTemplateStore::put_sender(const std::string& tenant, const std::string& channel,
                                       SenderDefaults defaults) {
  std::lock_guard lock(mutex_);
  auto next = std::make_shared<TemplateSnapshot>(*snapshot_);
  next->set_sender(tenant, channel, std::move(defaults));
  snapshot_ = std::move(next);
}

std::shared_ptr<const TemplateSnapshot> InMemoryTemplateStore::current() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

std::optional<StoredTemplate> InMemoryTemplateStore::find(const std::string& tenant,
                                                          const std::string& channel,
                                                          const std::string& locale,
                                                          const std::string& name) const {
  const auto snapshot = current();
  const auto found = snapshot->templates.find({tenant, channel, locale, name});
  if (found == snapshot->templates.end()) return std::nullopt;
  return found->second;
}

std::optional<SenderDefaults> InMemoryTemplateStore::sender_defaults(
    const std::string& tenant, const std::string& channel) const {
  const auto snapshot = current();
  const auto found = snapshot->senders.find({tenant, channel});
  if (found == snapshot->senders.end()) return std::nullopt;
  return found->second;
}

}  // namespace otp::delivery
