#include "services/generator/pg_tenant_settings.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

namespace otp::generator {
namespace {

enum Column {
  kId,
  kCodeLength,
  kTtl,
  kMaxAttempts,
  kResendPolicy,
  kResendCooldown,
  kSendsPerDestination,
  kWindow,
  kFailureLockThreshold,
  kAllowedChannels,
  kAllowedCountries,
  kTestNumbers,
  kSendRate,
  kSendBurst,
  kChannelFallback,
  kFailureLockSeconds,
  kColumnCount,
};

constexpr const char* kColumnNames[] = {"id",
                                        "code_length",
                                        "ttl_seconds",
                                        "max_attempts",
                                        "resend_policy",
                                        "resend_cooldown_seconds",
                                        "sends_per_destination",
                                        "window_seconds",
                                        "failure_lock_threshold",
                                        "allowed_channels",
                                        "allowed_countries",
                                        "test_numbers",
                                        "send_rate_per_second",
                                        "send_burst",
                                        "channel_fallback",
                                        "failure_lock_seconds"};

Result<std::string> text(const pg::Row& row, Column column) {
  if (!row[column])
    return fail(Errc::kInvalidInput, std::string(kColumnNames[column]) + " is NULL");
  return *row[column];
}

Result<int> integer(const pg::Row& row, Column column, int min, int max) {
  auto value = text(row, column);
  if (!value) return tl::unexpected(value.error());
  int number = 0;
  const auto* end = value->data() + value->size();
  auto [ptr, ec] = std::from_chars(value->data(), end, number);
  if (ec != std::errc{} || ptr != end || number < min || number > max) {
    return fail(Errc::kInvalidInput, std::string(kColumnNames[column]) + " is out of range");
  }
  return number;
}

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (start < list.size()) {
    auto end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    if (end > start) items.push_back(list.substr(start, end - start));
    start = end + 1;
  }
  return items;
}

bool is_digits(const std::string& text, std::size_t min, std::size_t max) {
  return text.size() >= min && text.size() <= max &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

// Arrays come back comma-joined so that no text[] literal parser is needed (their items are
// plain identifiers).
const std::string PgTenantSettingsLoader::kQuery =
    "SELECT id, code_length, ttl_seconds, max_attempts, resend_policy, resend_cooldown_seconds, "
    "sends_per_destination, window_seconds, failure_lock_threshold, "
    "array_to_string(allowed_channels, ','), array_to_string(allowed_countries, ','), "
    "test_numbers::text, send_rate_per_second::text, send_burst, "
    "array_to_string(channel_fallback, ','), failure_lock_seconds FROM tenants";

Result<std::pair<std::string, TenantSettings>> PgTenantSettingsLoader::parse_row(
    const pg::Row& row) {
  if (row.size() != kColumnCount) return fail(Errc::kInvalidInput, "unexpected column count");
  auto id = text(row, kId);
  if (!id) return tl::unexpected(id.error());
  TenantSettings settings;
  auto code_length = integer(row, kCodeLength, 4, 10);
  auto ttl = integer(row, kTtl, 10, 86'400);
  auto max_attempts = integer(row, kMaxAttempts, 1, 10);
  auto policy = text(row, kResendPolicy);
  auto cooldown = integer(row, kResendCooldown, 0, 86'400);
  auto sends = integer(row, kSendsPerDestination, 1, 1'000'000);
  auto window = integer(row, kWindow, 1, 86'400 * 7);
  auto threshold = integer(row, kFailureLockThreshold, 1, 1'000'000);
  auto channels = text(row, kAllowedChannels);
  auto test_numbers = text(row, kTestNumbers);
  auto rate = text(row, kSendRate);
  auto burst = integer(row, kSendBurst, 1, 1'000'000'000);
  for (const auto* failed :
       {&code_length, &ttl, &max_attempts, &cooldown, &sends, &window, &threshold, &burst}) {
    if (!*failed) return tl::unexpected(failed->error());
  }
  for (const auto* failed : {&policy, &channels, &test_numbers, &rate}) {
    if (!*failed) return tl::unexpected(failed->error());
  }
  settings.code_length = *code_length;
  settings.ttl = std::chrono::seconds(*ttl);
  settings.max_attempts = *max_attempts;
  if (*policy == "new") {
    settings.resend_policy = ResendPolicy::kNew;
  } else if (*policy == "same") {
    settings.resend_policy = ResendPolicy::kSame;
  } else {
    return fail(Errc::kInvalidInput, "resend_policy must be new or same");
  }
  settings.resend_cooldown = std::chrono::seconds(*cooldown);
  settings.sends_per_destination = *sends;
  settings.send_window = std::chrono::seconds(*window);
  settings.failure_lock_threshold = *threshold;
  settings.send_burst = *burst;

  settings.allowed_channels.clear();
  for (const auto& name : split(*channels)) {
    auto channel = messages::parse_channel(name);
    if (!channel) return fail(Errc::kInvalidInput, "allowed_channels: unknown channel");
    settings.allowed_channels.insert(*channel);
  }
  if (row[kAllowedCountries]) {
    std::set<std::string> countries;
    for (auto& region : split(*row[kAllowedCountries])) countries.insert(std::move(region));
    settings.allowed_countries = std::move(countries);
  }

  auto numbers = nlohmann::json::parse(*test_numbers, nullptr, false);
  if (!numbers.is_object()) return fail(Errc::kInvalidInput, "test_numbers is not an object");
  for (const auto& [number, code] : numbers.items()) {
    // The same shape as the E.164 check on send requests; codes as long as any code may be.
    if (number.size() < 9 || number.size() > 16 || number.front() != '+' ||
        !is_digits(number.substr(1), 8, 15) || !code.is_string() ||
        !is_digits(code.get<std::string>(), 4, 10)) {
      return fail(Errc::kInvalidInput, "test_numbers: want {\"+<E.164>\": \"<4-10 digits>\"}");
    }
    settings.test_numbers.emplace(number, code.get<std::string>());
  }

  char* end = nullptr;
  const double per_second = std::strtod(rate->c_str(), &end);
  if (end != rate->c_str() + rate->size() || !std::isfinite(per_second) || per_second <= 0) {
    return fail(Errc::kInvalidInput, "send_rate_per_second must be positive");
  }
  settings.send_rate_per_second = per_second;

  auto fallback = text(row, kChannelFallback);
  if (!fallback) return tl::unexpected(fallback.error());
  for (const auto& name : split(*fallback)) {
    auto channel = messages::parse_channel(name);
    if (!channel) return fail(Errc::kInvalidInput, "channel_fallback: unknown channel");
    if (std::find(settings.channel_fallback.begin(), settings.channel_fallback.end(), *channel) ==
        settings.channel_fallback.end()) {
      settings.channel_fallback.push_back(*channel);
    }
  }
  if (row[kFailureLockSeconds]) {
    auto lock = integer(row, kFailureLockSeconds, 1, 86'400);
    if (!lock) return tl::unexpected(lock.error());
    settings.failure_lock_duration = std::chrono::seconds(*lock);
  }
  return std::pair{std::move(*id), std::move(settings)};
}

Result<TenantSettingsMap> PgTenantSettingsLoader::load_all() {
  TenantSettingsMap tenants;
  auto done = db_.transact([&](pg::Transaction& tx) -> Result<void> {
    tenants.clear();  // the body may run twice (reconnect)
    auto rows = tx.exec(kQuery);
    if (!rows) return tl::unexpected(rows.error());
    for (const auto& row : *rows) {
      auto parsed = parse_row(row);
      if (!parsed) {
        spdlog::warn("tenants.bad_row tenant={} error=\"{}\"",
                     !row.empty() && row[0] ? *row[0] : "?", parsed.error().message);
        continue;
      }
      tenants.insert(std::move(*parsed));
    }
    return {};
  });
  if (!done) return tl::unexpected(done.error());
  return tenants;
}

}  // namespace otp::generator
