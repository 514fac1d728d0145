// otpctl: the operator's command line: topics, database migrations, audit retention and erasure
// by recipient, tenants, API keys, message templates and sender ids, and the dead-letter topic
// (list, redrive). See README.md.

#include "common/config/env.h"
#include "common/kafka/admin.h"
#include "common/log/log.h"
#include "common/messages/topics.h"
#include "common/pg/pg_connection.h"
#include "services/otpctl/dlq_commands.h"
#include "services/otpctl/key_commands.h"
#include "services/otpctl/pg_maintenance.h"
#include "services/otpctl/template_commands.h"
#include "services/otpctl/tenant_commands.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace {

constexpr char kUsage[] =
    "usage: otpctl topics ensure   create every pipeline topic that is missing\n"
    "       otpctl topics list     print the topics and their partition counts\n"
    "       otpctl migrate [--dir DIR]\n"
    "                              apply the SQL migrations not applied yet (default DIR:\n"
    "                              OTP_MIGRATIONS_DIR, else schemas/sql)\n"
    "       otpctl retention --older-than-days N\n"
    "                              drop the monthly audit partitions that ended more than N\n"
    "                              days ago; create the next months' partitions\n"
    "       otpctl erase --tenant T --recipient-hash H\n"
    "                              remove one recipient's identifiers from the audit tables\n"
    "       otpctl tenant create --id ID --name NAME [SETTINGS]\n"
    "       otpctl tenant update --id ID SETTINGS\n"
    "       otpctl tenant show --id ID\n"
    "                              SETTINGS: --code-length N --ttl-seconds N --max-attempts N\n"
    "                              --resend-policy new|same --resend-cooldown-seconds N\n"
    "                              --sends-per-destination N --window-seconds N\n"
    "                              --failure-lock-threshold N --allowed-channels sms,email,...\n"
    "                              --allowed-countries US,GB|any --test-numbers JSON\n"
    "                              --send-rate-per-second X --send-burst N (--name for update)\n"
    "       otpctl key create --tenant T [--scopes send,verify,read] [--label TEXT]\n"
    "                              print a new key id and its secret (shown only once)\n"
    "       otpctl key list --tenant T     the tenant's keys (never secrets)\n"
    "       otpctl key revoke --id K       intakes refuse the key within OTP_AUTH_REFRESH_MS\n"
    "       otpctl dlq list [--limit N]    dead-lettered records: source, reason, ids\n"
    "       otpctl dlq redrive [--topic T] [--limit N]\n"
    "                              republish to the source topic; commits the redrive offset\n"
    "       otpctl template set|list|delete|sender --tenant T ...\n"
    "                              tenant message templates and sender ids (`otpctl template`\n"
    "                              prints the details)\n"
    "environment: OTP_KAFKA_BROKERS (required for topics ensure), OTP_TOPIC_PREFIX (default "
    "otp.),\n"
    "             OTP_TOPIC_PARTITIONS (name=count,... over the defaults, e.g.\n"
    "             send-requests=6,verify-requests=6), OTP_KAFKA_REPLICATION (default 1),\n"
    "             OTP_PG_URL (required for migrate,\n"
    "             retention, erase, tenant and key)\n";

int usage() {
  std::fputs(kUsage, stderr);
  return 2;
}

int topics(const std::string& verb) {
  otp::config::EnvReader env;
  auto prefix = env.string("OTP_TOPIC_PREFIX", "otp.");
  auto specs = otp::messages::with_partitions(otp::messages::Topics::with_prefix(prefix).specs(),
                                              prefix, env.string("OTP_TOPIC_PARTITIONS", ""));
  if (!specs) {
    std::fprintf(stderr, "otpctl: OTP_TOPIC_PARTITIONS: %s\n", specs.error().message.c_str());
    return 2;
  }
  if (verb == "list") {
    for (const auto& spec : *specs) {
      std::printf("%-32s partitions=%d retention_ms=%lld\n", spec.name.c_str(), spec.partitions,
                  static_cast<long long>(spec.retention_ms));
    }
    return 0;
  }
  if (verb != "ensure") return usage();
  otp::kafka::KafkaSettings settings{
      .brokers = env.required_string("OTP_KAFKA_BROKERS"), .client_id = "otpctl", .properties = {}};
  auto replication = static_cast<int>(env.integer("OTP_KAFKA_REPLICATION", 1, 1, 5));
  if (auto valid = env.finish(); !valid) {
    std::fprintf(stderr, "otpctl: %s\n", valid.error().message.c_str());
    return 2;
  }
  auto done = otp::kafka::ensure_topics(settings, *specs, replication, std::chrono::seconds(30));
  if (!done) {
    std::fprintf(stderr, "otpctl: %s\n", done.error().message.c_str());
    return 1;
  }
  std::printf("topics ensured: %zu with prefix %s\n", specs->size(), prefix.c_str());
  return 0;
}

/// `--name value` pairs after the command; nullopt when an argument is not one of `known` or a
/// value is missing.
std::optional<std::map<std::string, std::string>> options(int argc, char** argv, int first,
                                                          const std::vector<std::string>& known) {
  std::map<std::string, std::string> values;
  for (int i = first; i < argc; i += 2) {
    std::string name = argv[i];
    if (i + 1 >= argc || std::find(known.begin(), known.end(), name) == known.end()) {
      return std::nullopt;
    }
    values[name] = argv[i + 1];
  }
  return values;
}

int fail_with(const otp::Error& error) {
  std::fprintf(stderr, "otpctl: %s\n", error.message.c_str());
  return error.code == otp::Errc::kInvalidInput ? 2 : 1;
}

int database_command(const std::string& command, const std::map<std::string, std::string>& args) {
  otp::config::EnvReader env;
  auto url = env.required_secret("OTP_PG_URL");
  auto dir = env.string("OTP_MIGRATIONS_DIR", "schemas/sql");
  if (auto valid = env.finish(); !valid) {
    std::fprintf(stderr, "otpctl: %s\n", valid.error().message.c_str());
    return 2;
  }
  // Migrations may rewrite big tables: no statement timeout for the operator's own commands.
  otp::pg::PgConnection connection(
      url, {.application_name = "otpctl", .statement_timeout = std::chrono::milliseconds(0)});

  if (command == "migrate") {
    if (auto it = args.find("--dir"); it != args.end()) dir = it->second;
    auto done = otp::otpctl::migrate(connection, dir);
    if (!done) return fail_with(done.error());
    for (const auto& version : done->applied)
      std::printf("migrations: applied %s\n", version.c_str());
    std::printf("migrations: %zu applied, %zu already applied\n", done->applied.size(),
                done->already_applied);
    return 0;
  }
  if (command == "retention") {
    const std::string& text = args.at("--older-than-days");
    long long days = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), days);
    if (error != std::errc() || end != text.data() + text.size()) days = 0;
    if (days < 1 || days > 36'500) {
      std::fputs("otpctl: --older-than-days must be between 1 and 36500\n", stderr);
      return 2;
    }
    auto done = otp::otpctl::enforce_retention(connection, std::chrono::days(days));
    if (!done) return fail_with(done.error());
    for (const auto& name : done->dropped) std::printf("retention: dropped %s\n", name.c_str());
    std::printf("retention: %zu partitions dropped, %zu created ahead\n", done->dropped.size(),
                done->created);
    return 0;
  }
  // erase
  const auto& tenant = args.at("--tenant");
  auto done = otp::otpctl::erase_recipient(connection, tenant, args.at("--recipient-hash"));
  if (!done) return fail_with(done.error());
  std::printf("erase: tenant %s: %zu verifications and %zu events erased\n", tenant.c_str(),
              done->verifications, done->events);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  otp::log::init("otpctl", "warn");
  if (argc < 2) return usage();
  std::string command = argv[1];
  if (command == "topics" && argc == 3) return topics(argv[2]);
  // --- auth: tenants and API keys ---
  if (command == "tenant") return otp::otpctl::tenant_command({argv + 2, argv + argc});
  if (command == "key") return otp::otpctl::key_command({argv + 2, argv + argc});
  if (command == "dlq") return otp::otpctl::dlq_command({argv + 2, argv + argc});  // delivery
  if (command == "template") return otp::otpctl::template_command({argv + 2, argv + argc});
  static const std::map<std::string, std::vector<std::string>> kDatabaseCommands = {
      {"migrate", {"--dir"}},
      {"retention", {"--older-than-days"}},
      {"erase", {"--tenant", "--recipient-hash"}}};
  auto found = kDatabaseCommands.find(command);
  if (found == kDatabaseCommands.end()) return usage();
  auto args = options(argc, argv, 2, found->second);
  if (!args) return usage();
  // Every option but migrate's --dir is required.
  if (command != "migrate" && args->size() != found->second.size()) return usage();
  return database_command(command, *args);
}
