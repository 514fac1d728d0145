#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>

namespace otp::delivery {

/// One tenant template (table `message_templates`, migration 0007).
struct StoredTemplate {
  std::string tenant;
  std::string channel;  ///< "sms" | "email" | "whatsapp"
  std::string locale;   ///< "en", "pt-BR", ...
  std::string name;     ///< "default" unless the request names another
  std::string subject;  ///< email only
  std::string body;
  std::string sender;  ///< sender id for this template; empty: the tenant's default
};

/// A tenant's defaults for one channel (table `tenant_senders`).
struct SenderDefaults {
  std::string sender;  ///< SMS number/alphanumeric id, email From, WhatsApp number
  std::string brand;   ///< the name shown in messages when the request has no `from`
};

/// Where the renderer reads tenant templates. Implementations are thread-safe and answer from
/// memory (a PG-backed store serves a periodically refreshed snapshot), never blocking on I/O.
class TemplateStore {
 public:
  virtual ~TemplateStore() = default;
  /// The exact (tenant, channel, locale, name) template, if defined.
  [[nodiscard]] virtual std::optional<StoredTemplate> find(const std::string& tenant,
                                                           const std::string& channel,
                                                           const std::string& locale,
                                                           const std::string& name) const = 0;
  [[nodiscard]] virtual std::optional<SenderDefaults> sender_defaults(
      const std::string& tenant, const std::string& channel) const = 0;
};

/// An immutable set of templates and sender defaults: what the stores serve.
struct TemplateSnapshot {
  using Key = std::tuple<std::string, std::string, std::string, std::string>;
  std::map<Key, StoredTemplate> templates;  ///< by (tenant, channel, locale, name)
  std::map<std::pair<std::string, std::string>, SenderDefaults> senders;  ///< (tenant, channel)

  void add(StoredTemplate t);
  void set_sender(const std::string& tenant, const std::string& channel, SenderDefaults defaults);
};

/// Serves a snapshot that can be replaced at any time (tests fill it directly; the PG store
/// replaces it on each refresh). Reads take a shared_ptr copy under a short lock.
class InMemoryTemplateStore : public TemplateStore {
 public:
  InMemoryTemplateStore() : snapshot_(std::make_shared<const TemplateSnapshot>()) {}
  explicit InMemoryTemplateStore(TemplateSnapshot snapshot)
      : snapshot_(std::make_shared<const TemplateSnapshot>(std::move(snapshot))) {}

  void replace(TemplateSnapshot snapshot);
  /// Adds or replaces one template (copy-on-write).
  void put(StoredTemplate t);
  void put_sender(const std::string& tenant, const std::string& channel, SenderDefaults defaults);

  [[nodiscard]] std::optional<StoredTemplate> find(const std::string& tenant,
                                                   const std::string& channel,
                                                   const std::string& locale,
                                                   const std::string& name) const override;
  [[nodiscard]] std::optional<SenderDefaults> sender_defaults(
      const std::string& tenant, const std::string& channel) const override;

 private:
  [[nodiscard]] std::shared_ptr<const TemplateSnapshot> current() const;

  mutable std::mutex mutex_;
  std::shared_ptr<const TemplateSnapshot> snapshot_;
};

}  // namespace otp::delivery
