#include "services/otpctl/tenant_commands.h"

#include "common/config/env.h"

#include <algorithm>
#include <cstdio>

namespace otp::otpctl {
namespace {

enum class Kind { kText, kInteger, kNumber, kTextArray, kCountries, kJson };

struct Setting {
  const char* flag;
  const char* column;
  Kind kind;
};

// One row per column of `tenants` an operator may set (schemas/sql/0001 and 0004).
constexpr Setting kSettings[] = {
    {"--name", "name", Kind::kText},
    {"--code-length", "code_length", Kind::kInteger},
    {"--ttl-seconds", "ttl_seconds", Kind::kInteger},
    {"--max-attempts", "max_attempts", Kind::kInteger},
    {"--resend-policy", "resend_policy", Kind::kText},
    {"--resend-cooldown-seconds", "resend_cooldown_seconds", Kind::kInteger},
    {"--sends-per-destination", "sends_per_destination", Kind::kInteger},
    {"--window-seconds", "window_seconds", Kind::kInteger},
    {"--failure-lock-threshold", "failure_lock_threshold", Kind::kInteger},
    {"--allowed-channels", "allowed_channels", Kind::kTextArray},
    {"--allowed-countries", "allowed_countries", Kind::kCountries},
    {"--test-numbers", "test_numbers", Kind::kJson},
    {"--send-rate-per-second", "send_rate_per_second", Kind::kNumber},
    {"--send-burst", "send_burst", Kind::kInteger},
};

const Setting* find_setting(const std::string& flag) {
  for (const auto& setting : kSettings) {
    if (flag == setting.flag) return &setting;
  }
  return nullptr;
}

bool is_word(const std::string& text) {
  return !text.empty() && text.size() <= 32 && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  });
}

// The SQL placeholder (with its cast) and parameter for one flag's value.
Result<std::pair<std::string, pg::Param>> bind(const Setting& setting, const std::string& value,
                                               std::size_t index) {
  const std::string placeholder = "$" + std::to_string(index);
  const auto invalid = [&](const char* what) {
    return fail(Errc::kInvalidInput, std::string(setting.flag) + " must be " + what);
  };
  switch (setting.kind) {
    case Kind::kText:
      if (value.empty()) return invalid("non-empty");
      return std::pair{placeholder, pg::Param(value)};
    case Kind::kInteger: {
      const bool digits =
          !value.empty() && value.size() <= 9 &&
          std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (!digits) return invalid("a whole number");
      return std::pair{placeholder + "::integer", pg::Param(value)};
    }
    case Kind::kNumber: {
      const bool number = !value.empty() && value.size() <= 20 &&
                          std::all_of(value.begin(), value.end(),
                                      [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
      if (!number) return invalid("a number");
      return std::pair{placeholder + "::double precision", pg::Param(value)};
    }
    case Kind::kTextArray:
    case Kind::kCountries: {
      if (setting.kind == Kind::kCountries && value == "any") {
        return std::pair{placeholder + "::text[]", pg::Param()};
      }
      std::string literal = "{";
      std::size_t start = 0;
      while (start <= value.size()) {
        auto end = value.find(',', start);
        if (end == std::string::npos) end = value.size();
        const std::string item = value.substr(start, end - start);
        if (!is_word(item)) return invalid("a comma-separated list of plain words");
        if (literal.size() > 1) literal += ',';
        literal += item;
        start = end + 1;
      }
      literal += '}';
      return std::pair{placeholder + "::text[]", pg::Param(literal)};
    }
    case Kind::kJson:
      return std::pair{placeholder + "::jsonb", pg::Param(value)};
  }
  return invalid("valid");
}

pg::PgConnection connect_from_env(bool& ok) {
  config::EnvReader env;
  auto url = env.required_secret("OTP_PG_URL");
  ok = true;
  if (auto valid = env.finish(); !valid) {
    std::fprintf(stderr, "otpctl: %s\n", valid.error().message.c_str());
    ok = false;
  }
  return pg::PgConnection(
      url, {.application_name = "otpctl", .statement_timeout = std::chrono::milliseconds(30'000)});
}

int report(const Error& error) {
  std::fprintf(stderr, "otpctl: %s\n", error.message.c_str());
  return error.code == Errc::kInvalidInput ? 2 : 1;
}

}  // namespace

bool is_tenant_id(const std::string& id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

const std::vector<std::string>& tenant_setting_flags() {
  static const std::vector<std::string> kFlags = [] {
    std::vector<std::string> names;
    for (const auto& setting : kSettings) names.emplace_back(setting.flag);
    return names;
  }();
  return kFlags;
}

Result<void> create_tenant(pg::PgConnection& db, const std::string& id, const TenantFlags& flags) {
  if (!is_tenant_id(id)) {
    return fail(Errc::kInvalidInput, "--id must be 1 to 64 characters of [A-Za-z0-9._-]");
  }
  if (!flags.contains("--name")) return fail(Errc::kInvalidInput, "--name is required");
  std::string columns = "id";
  std::string values = "$1";
  std::vector<pg::Param> params = {id};
  for (const auto& [flag, value] : flags) {
    const Setting* setting = find_setting(flag);
    if (setting == nullptr) return fail(Errc::kInvalidInput, "unknown flag " + flag);
    auto bound = bind(*setting, value, params.size() + 1);
    if (!bound) return tl::unexpected(bound.error());
    columns += std::string(", ") + setting->column;
    values += ", " + bound->first;
    params.push_back(std::move(bound->second));
  }
  return db.transact([&](pg::Transaction& tx) -> Result<void> {
    auto exists = tx.exec("SELECT 1 FROM tenants WHERE id = $1", {id});
    if (!exists) return tl::unexpected(exists.error());
    if (!exists->empty()) return fail(Errc::kInvalidInput, "tenant " + id + " already exists");
    auto inserted =
        tx.exec("INSERT INTO tenants (" + columns + ") VALUES (" + values + ")", params);
    if (!inserted) return tl::unexpected(inserted.error());
    return {};
  });
}

Result<void> update_tenant(pg::PgConnection& db, const std::string& id, const TenantFlags& flags) {
  if (flags.empty()) return fail(Errc::kInvalidInput, "nothing to update: give a setting flag");
  std::string assignments;
  std::vector<pg::Param> params = {id};
  for (const auto& [flag, value] : flags) {
    const Setting* setting = find_setting(flag);
    if (setting == nullptr) return fail(Errc::kInvalidInput, "unknown flag " + flag);
    auto bound = bind(*setting, value, params.size() + 1);
    if (!bound) return tl::unexpected(bound.error());
    if (!assignments.empty()) assignments += ", ";
    assignments += std::string(setting->column) + " = " + bound->first;
    params.push_back(std::move(bound->second));
  }
  return db.transact([&](pg::Transaction& tx) -> Result<void> {
    auto updated =
        tx.exec("UPDATE tenants SET " + assignments + " WHERE id = $1 RETURNING id", params);
    if (!updated) return tl::unexpected(updated.error());
    if (updated->empty()) return fail(Errc::kNotFound, "no tenant " + id);
    return {};
  });
}

Result<std::string> show_tenant(pg::PgConnection& db, const std::string& id) {
  std::string shown;
  auto done = db.transact([&](pg::Transaction& tx) -> Result<void> {
    auto rows = tx.exec(
        "SELECT jsonb_pretty(to_jsonb(t) || jsonb_build_object('active_api_keys', "
        "(SELECT count(*) FROM api_keys k WHERE k.tenant_id = t.id AND k.revoked_at IS NULL))) "
        "FROM tenants t WHERE t.id = $1",
        {id});
    if (!rows) return tl::unexpected(rows.error());
    if (rows->empty() || !rows->front()[0]) return fail(Errc::kNotFound, "no tenant " + id);
    shown = *rows->front()[0];
    return {};
  });
  if (!done) return tl::unexpected(done.error());
  return shown;
}

int tenant_command(const std::vector<std::string>& args) {
  constexpr char kUsage[] =
      "usage: otpctl tenant create --id ID --name NAME [SETTINGS]\n"
      "       otpctl tenant update --id ID SETTINGS\n"
      "       otpctl tenant show --id ID\n";
  if (args.empty() || args.size() % 2 == 0) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string& verb = args[0];
  std::string id;
  TenantFlags flags;
  for (std::size_t i = 1; i + 1 < args.size(); i += 2) {
    if (args[i] == "--id") {
      id = args[i + 1];
    } else if (verb != "show" && find_setting(args[i]) != nullptr && !flags.contains(args[i])) {
      flags[args[i]] = args[i + 1];
    } else {
      std::fprintf(stderr, "otpctl: unexpected or repeated flag %s\n%s", args[i].c_str(), kUsage);
      return 2;
    }
  }
  if (id.empty() || (verb != "create" && verb != "update" && verb != "show")) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  bool ok = false;
  pg::PgConnection db = connect_from_env(ok);
  if (!ok) return 2;
  if (verb == "show") {
    auto shown = show_tenant(db, id);
    if (!shown) return report(shown.error());
    std::printf("%s\n", shown->c_str());
    return 0;
  }
  auto done = verb == "create" ? create_tenant(db, id, flags) : update_tenant(db, id, flags);
  if (!done) return report(done.error());
  std::printf("tenant %s %s\n", id.c_str(), verb == "create" ? "created" : "updated");
  return 0;
}

}  // namespace otp::otpctl
