#include "services/otpctl/key_commands.h"

#include "common/config/env.h"
#include "services/intake/auth/scopes.h"
#include "services/otpctl/tenant_commands.h"

#include <algorithm>
#include <cstdio>
#include <map>

namespace otp::otpctl {
namespace {

namespace auth = intake::auth;

int report(const Error& error) {
  std::fprintf(stderr, "otpctl: %s\n", error.message.c_str());
  return error.code == Errc::kInvalidInput ? 2 : 1;
}

}  // namespace

Result<auth::NewApiKey> create_key(pg::PgConnection& db, Rng& rng, const std::string& tenant,
                                   unsigned scopes, const std::string& label) {
  if ((scopes & auth::kScopeAll) == 0U || (scopes & ~auth::kScopeAll) != 0U) {
    return fail(Errc::kInvalidInput, "a key needs at least one scope of send, verify, read");
  }
  if (label.size() > 200) return fail(Errc::kInvalidInput, "--label is at most 200 characters");
  auth::NewApiKey key = auth::generate_api_key(rng);
  auto done = db.transact([&](pg::Transaction& tx) -> Result<void> {
    auto exists = tx.exec("SELECT 1 FROM tenants WHERE id = $1", {tenant});
    if (!exists) return tl::unexpected(exists.error());
    if (exists->empty()) return fail(Errc::kNotFound, "no tenant " + tenant);
    auto inserted = tx.exec(
        "INSERT INTO api_keys (id, tenant_id, secret_hash, scopes, label) "
        "VALUES ($1, $2, $3, string_to_array($4, ','), $5)",
        {key.id, tenant, key.secret_hash, auth::format_scopes(scopes, ','), label});
    if (!inserted) return tl::unexpected(inserted.error());
    return {};
  });
  if (!done) return tl::unexpected(done.error());
  return key;
}

Result<std::vector<ApiKeyInfo>> list_keys(pg::PgConnection& db, const std::string& tenant) {
  std::vector<ApiKeyInfo> keys;
  auto done = db.transact([&](pg::Transaction& tx) -> Result<void> {
    keys.clear();
    auto rows = tx.exec(
        "SELECT id, array_to_string(scopes, ','), label, "
        "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
        "to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
        "FROM api_keys WHERE tenant_id = $1 ORDER BY created_at DESC, id",
        {tenant});
    if (!rows) return tl::unexpected(rows.error());
    for (const auto& row : *rows) {
      keys.push_back(ApiKeyInfo{.id = row[0].value_or(""),
                                .scopes = row[1].value_or(""),
                                .label = row[2].value_or(""),
                                .created_at = row[3].value_or(""),
                                .revoked_at = row[4]});
    }
    return {};
  });
  if (!done) return tl::unexpected(done.error());
  return keys;
}

Result<Revocation> revoke_key(pg::PgConnection& db, const std::string& id) {
  Revocation outcome = Revocation::kRevoked;
  auto done = db.transact([&](pg::Transaction& tx) -> Result<void> {
    auto rows = tx.exec(
        "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 "
        "RETURNING revoked_at = now()",
        {id});
    if (!rows) return tl::unexpected(rows.error());
    if (rows->empty()) return fail(Errc::kNotFound, "no API key " + id);
    outcome = rows->front()[0] == std::optional<std::string>("t") ? Revocation::kRevoked
                                                                  : Revocation::kAlreadyRevoked;
    return {};
  });
  if (!done) return tl::unexpected(done.error());
  return outcome;
}

int key_command(const std::vector<std::string>& args) {
  constexpr char kUsage[] =
      "usage: otpctl key create --tenant T [--scopes send,verify,read] [--label TEXT]\n"
      "       otpctl key list --tenant T\n"
      "       otpctl key revoke --id K\n";
  static const std::map<std::string, std::vector<std::string>> kFlags = {
      {"create", {"--tenant", "--scopes", "--label"}},
      {"list", {"--tenant"}},
      {"revoke", {"--id"}}};
  if (args.empty() || args.size() % 2 == 0 || !kFlags.contains(args[0])) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string& verb = args[0];
  std::map<std::string, std::string> flags;
  for (std::size_t i = 1; i + 1 < args.size(); i += 2) {
    const auto& known = kFlags.at(verb);
    if (std::find(known.begin(), known.end(), args[i]) == known.end() ||
        !flags.emplace(args[i], args[i + 1]).second) {
      std::fprintf(stderr, "otpctl: unexpected or repeated flag %s\n%s", args[i].c_str(), kUsage);
      return 2;
    }
  }
  const char* required = verb == "revoke" ? "--id" : "--tenant";
  if (!flags.contains(required)) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  unsigned scopes = auth::kScopeAll;
  if (auto it = flags.find("--scopes"); it != flags.end()) {
    auto parsed = auth::parse_scopes(it->second, ',');
    if (!parsed) return report(parsed.error());
    scopes = *parsed;
  }

  config::EnvReader env;
  auto url = env.required_secret("OTP_PG_URL");
  if (auto valid = env.finish(); !valid) return report(valid.error());
  pg::PgConnection db(
      url, {.application_name = "otpctl", .statement_timeout = std::chrono::milliseconds(30'000)});

  if (verb == "create") {
    OpenSslRng rng;
    auto key = create_key(db, rng, flags.at("--tenant"), scopes,
                          flags.contains("--label") ? flags.at("--label") : std::string());
    if (!key) return report(key.error());
    std::printf("key_id=%s\nsecret=%s\ntenant=%s\nscopes=%s\n", key->id.c_str(),
                key->secret.c_str(), flags.at("--tenant").c_str(),
                auth::format_scopes(scopes, ',').c_str());
    std::fputs("otpctl: the secret is shown only now; only its hash is stored.\n", stderr);
    return 0;
  }
  if (verb == "list") {
    auto keys = list_keys(db, flags.at("--tenant"));
    if (!keys) return report(keys.error());
    for (const auto& key : *keys) {
      std::printf("%s scopes=%s created_at=%s status=%s%s label=\"%s\"\n", key.id.c_str(),
                  key.scopes.c_str(), key.created_at.c_str(),
                  key.revoked_at ? "revoked revoked_at=" : "active",
                  key.revoked_at ? key.revoked_at->c_str() : "", key.label.c_str());
    }
    if (keys->empty()) std::printf("no keys for tenant %s\n", flags.at("--tenant").c_str());
    return 0;
  }
  auto revoked = revoke_key(db, flags.at("--id"));
  if (!revoked) return report(revoked.error());
  std::printf("key %s %s\n", flags.at("--id").c_str(),
              *revoked == Revocation::kRevoked ? "revoked" : "was already revoked");
  return 0;
}

}  // namespace otp::otpctl
