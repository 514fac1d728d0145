#include "services/otpctl/template_commands.h"

#include "common/config/env.h"
#include "services/delivery/templates/locale.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

namespace otp::otpctl {
namespace {

constexpr char kUsage[] =
    "usage: otpctl template set --tenant T --channel sms|email|whatsapp --locale L\n"
    "                           (--body TEXT | --body-file PATH) [--subject S] [--name N]\n"
    "                           [--sender ID]\n"
    "       otpctl template list --tenant T [--channel C]\n"
    "       otpctl template delete --tenant T --channel C --locale L [--name N]\n"
    "       otpctl template sender --tenant T --channel C [--sender ID] [--brand NAME]\n"
    "placeholders: {{code}} (required), {{brand}}, {{minutes}}; --name defaults to `default`\n";

int usage() {
  std::fputs(kUsage, stderr);
  return 2;
}

Result<void> require_tenant(pg::Transaction& tx, const std::string& tenant) {
  auto rows = tx.exec("SELECT 1 FROM tenants WHERE id = $1", {tenant});
  if (!rows) return tl::unexpected(rows.error());
  if (rows->empty()) return fail(Errc::kNotFound, "no tenant " + tenant);
  return {};
}

std::optional<std::map<std::string, std::string>> parse(const std::vector<std::string>& args,
                                                        const std::vector<std::string>& known) {
  std::map<std::string, std::string> values;
  for (std::size_t i = 1; i < args.size(); i += 2) {
    if (i + 1 >= args.size() || std::find(known.begin(), known.end(), args[i]) == known.end()) {
      return std::nullopt;
    }
    values[args[i]] = args[i + 1];
  }
  return values;
}

std::string get(const std::map<std::string, std::string>& values, const std::string& key,
                const std::string& fallback = "") {
  auto found = values.find(key);
  return found == values.end() ? fallback : found->second;
}

int report(const Error& error) {
  std::fprintf(stderr, "otpctl: %s\n", error.message.c_str());
  return error.code == Errc::kInvalidInput || error.code == Errc::kNotFound ? 2 : 1;
}

}  // namespace

Result<delivery::TemplateCheck> set_template(pg::PgConnection& db,
                                             const delivery::StoredTemplate& t) {
  const auto locale = delivery::normalize_locale(t.locale);
  auto check =
      delivery::validate_template(t.channel, t.locale, t.name, t.subject, t.body, t.sender);
  if (!check) return tl::unexpected(check.error());
  auto done = db.transact([&](pg::Transaction& tx) -> Result<void> {
    if (auto exists = require_tenant(tx, t.tenant); !exists) return exists;
    auto rows = tx.exec(
        "INSERT INTO message_templates (tenant_id, channel, locale, name, subject, body, sender)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (tenant_id, channel, locale, name) DO UPDATE SET subject = EXCLUDED.subject,"
        " body = EXCLUDED.body, sender = EXCLUDED.sender, updated_at = now()",
        {t.tenant, t.channel, locale, t.name, t.subject, t.body, t.sender});
    if (!rows) return tl::unexpected(rows.error());
    return {};
  });
  if (!done) return tl::unexpected(done.error());
  return check;
}

Result<std::vector<delivery::StoredTemplate>> list_templates(pg::PgConnection& db,
                                                             const std::string& tenant,
                                                             const std::string& channel) {
  std::vector<delivery::StoredTemplate> out;
  auto done = db.transact([&](pg::Transaction& tx) -> Result<void> {
    out.clear();
    auto rows = tx.exec(
        "SELECT channel, locale, name, subject, body, sender FROM message_templates"
        " WHERE tenant_id = $1 AND ($2 = '' OR channel = $2) ORDER BY channel, name, locale",
        {tenant, channel});
    if (!rows) return tl::unexpected(rows.error());
    for (const auto& row : *rows) {
      out.push_back(delivery::StoredTemplate{.tenant = tenant,
                                             .channel = row[0].value_or(""),
                                             .locale = row[1].value_or(""),
                                             .name = row[2].value_or(""),
                                             .subject = row[3].value_or(""),
                                             .body = row[4].value_or(""),
                                             .sender = row[5].value_or("")});
    }
    return {};
  });
  if (!done) return tl::unexpected(done.error());
  return out;
}

Result<void> delete_template(pg::PgConnection& db, const std::string& tenant,
                             const std::string& channel, const std::string& locale,
                             const std::string& name) {
  return db.transact([&](pg::Transaction& tx) -> Result<void> {
    auto rows = tx.exec(
        "DELETE FROM message_templates WHERE tenant_id = $1 AND channel = $2 AND locale = $3"
        " AND name = $4 RETURNING 1",
        {tenant, channel, delivery::normalize_locale(locale), name});
    if (!rows) return tl::unexpected(rows.error());
    if (rows->empty()) return fail(Errc::kNotFound, "no such template");
    return {};
  });
}

Result<void> set_sender(pg::PgConnection& db, const std::string& tenant, const std::string& channel,
                        const std::string& sender, const std::string& brand) {
  if (channel != "sms" && channel != "email" && channel != "whatsapp") {
    return fail(Errc::kInvalidInput, "channel must be sms, email or whatsapp");
  }
  if (sender.size() > delivery::TemplateLimits::kSender || brand.size() > 64 ||
      sender.find_first_of("\r\n") != std::string::npos ||
      brand.find_first_of("\r\n{}") != std::string::npos) {
    return fail(Errc::kInvalidInput,
                "sender must be at most 254 bytes, brand at most 64, on one line (no braces)");
  }
  return db.transact([&](pg::Transaction& tx) -> Result<void> {
    if (auto exists = require_tenant(tx, tenant); !exists) return exists;
    auto rows = tx.exec(
        "INSERT INTO tenant_senders (tenant_id, channel, sender, brand) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (tenant_id, channel) DO UPDATE SET sender = EXCLUDED.sender,"
        " brand = EXCLUDED.brand, updated_at = now()",
        {tenant, channel, sender, brand});
    if (!rows) return tl::unexpected(rows.error());
    return {};
  });
}

int template_command(const std::vector<std::string>& args) {
  if (args.empty()) return usage();
  const std::string& verb = args[0];
  static const std::map<std::string, std::vector<std::string>> kFlags = {
      {"set",
       {"--tenant", "--channel", "--locale", "--body", "--body-file", "--subject", "--name",
        "--sender"}},
      {"list", {"--tenant", "--channel"}},
      {"delete", {"--tenant", "--channel", "--locale", "--name"}},
      {"sender", {"--tenant", "--channel", "--sender", "--brand"}}};
  const auto flags = kFlags.find(verb);
  if (flags == kFlags.end()) return usage();
  auto values = parse(args, flags->second);
  if (!values || get(*values, "--tenant").empty()) return usage();

  config::EnvReader env;
  auto url = env.required_secret("OTP_PG_URL");
  if (auto valid = env.finish(); !valid) {
    std::fprintf(stderr, "otpctl: %s\n", valid.error().message.c_str());
    return 2;
  }
  pg::PgConnection db(
      url, {.application_name = "otpctl", .statement_timeout = std::chrono::seconds(30)});
  const auto tenant = get(*values, "--tenant");

  if (verb == "set") {
    std::string body = get(*values, "--body");
    if (auto path = get(*values, "--body-file"); !path.empty()) {
      std::ifstream in(path);
      if (!in || !body.empty()) return usage();
      std::ostringstream text;
      text << in.rdbuf();
      body = text.str();
      while (!body.empty() && body.back() == '\n') body.pop_back();
    }
    delivery::StoredTemplate t{.tenant = tenant,
                               .channel = get(*values, "--channel"),
                               .locale = get(*values, "--locale"),
                               .name = get(*values, "--name", "default"),
                               .subject = get(*values, "--subject"),
                               .body = body,
                               .sender = get(*values, "--sender")};
    auto check = set_template(db, t);
    if (!check) return report(check.error());
    std::printf("template: %s %s %s %s saved", tenant.c_str(), t.channel.c_str(),
                delivery::normalize_locale(t.locale).c_str(), t.name.c_str());
    if (t.channel == "sms") {
      std::printf(" (%d segment%s, %s, %zu bytes rendered with a 6-digit code)", check->segments,
                  check->segments == 1 ? "" : "s", check->encoding.c_str(), check->rendered_length);
    }
    std::printf("\n");
    return 0;
  }
  if (verb == "list") {
    auto templates = list_templates(db, tenant, get(*values, "--channel"));
    if (!templates) return report(templates.error());
    for (const auto& t : *templates) {
      const auto check =
          delivery::validate_template(t.channel, t.locale, t.name, t.subject, t.body, t.sender);
      std::printf("%-8s %-6s %-16s", t.channel.c_str(), t.locale.c_str(), t.name.c_str());
      if (check && t.channel == "sms")
        std::printf(" segments=%d %s", check->segments, check->encoding.c_str());
      if (!t.sender.empty()) std::printf(" sender=%s", t.sender.c_str());
      if (!t.subject.empty()) std::printf(" subject=\"%s\"", t.subject.c_str());
      std::printf("\n    %s\n", t.body.c_str());
    }
    std::printf("templates: %zu\n", templates->size());
    return 0;
  }
  if (verb == "delete") {
    auto done = delete_template(db, tenant, get(*values, "--channel"), get(*values, "--locale"),
                                get(*values, "--name", "default"));
    if (!done) return report(done.error());
    std::printf("template: deleted\n");
    return 0;
  }
  auto done = set_sender(db, tenant, get(*values, "--channel"), get(*values, "--sender"),
                         get(*values, "--brand"));
  if (!done) return report(done.error());
  std::printf("sender: %s %s saved\n", tenant.c_str(), get(*values, "--channel").c_str());
  return 0;
}

}  // namespace otp::otpctl
