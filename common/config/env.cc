#include "common/config/env.h"

#include <charconv>
#include <cstdlib>

namespace otp::config {
namespace {

std::optional<std::int64_t> parse_int(std::string_view text) {
  std::int64_t value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end) return std::nullopt;
  return value;
}

}  // namespace

EnvReader::EnvReader(Lookup lookup) : lookup_(std::move(lookup)) {
  if (!lookup_) {
    lookup_ = [](const std::string& key) -> std::optional<std::string> {
      const char* value = std::getenv(key.c_str());
      if (value == nullptr) return std::nullopt;
      return std::string(value);
    };
  }
}

std::optional<std::string> EnvReader::get(const std::string& key) const {
  auto value = lookup_(key);
  if (value && value->empty()) return std::nullopt;  // KEY= counts as unset
  return value;
}

std::string EnvReader::string(const std::string& key, std::string fallback) {
  return get(key).value_or(std::move(fallback));
}

std::string EnvReader::required_string(const std::string& key) {
  auto value = get(key);
  if (!value) {
    reject(key, "is required");
    return {};
  }
  return *value;
}

Secret EnvReader::required_secret(const std::string& key) { return Secret(required_string(key)); }

Secret EnvReader::secret(const std::string& key, std::string fallback) {
  return Secret(string(key, std::move(fallback)));
}

std::int64_t EnvReader::integer(const std::string& key, std::int64_t fallback, std::int64_t min,
                                std::int64_t max) {
  auto text = get(key);
  if (!text) return fallback;
  auto value = parse_int(*text);
  if (!value) {
    reject(key, "must be an integer");
    return fallback;
  }
  if (*value < min || *value > max) {
    reject(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return fallback;
  }
  return *value;
}

std::chrono::milliseconds EnvReader::millis(const std::string& key,
                                            std::chrono::milliseconds fallback,
                                            std::chrono::milliseconds min,
                                            std::chrono::milliseconds max) {
  return std::chrono::milliseconds(integer(key, fallback.count(), min.count(), max.count()));
}

bool EnvReader::boolean(const std::string& key, bool fallback) {
  auto text = get(key);
  if (!text) return fallback;
  if (*text == "1" || *text == "true" || *text == "yes") return true;
  if (*text == "0" || *text == "false" || *text == "no") return false;
  reject(key, "must be true or false");
  return fallback;
}

std::vector<std::string> EnvReader::list(const std::string& key,
                                         std::vector<std::string> fallback) {
  auto text = get(key);
  if (!text) return fallback;
  std::vector<std::string> items;
  std::string_view rest = *text;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    auto item = rest.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) items.emplace_back(item);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return items;
}

std::string EnvReader::choice(const std::string& key, std::string fallback,
                              const std::vector<std::string>& allowed) {
  auto value = string(key, fallback);
  for (const auto& option : allowed) {
    if (option == value) return value;
  }
  std::string options;
  for (const auto& option : allowed) options += (options.empty() ? "" : "|") + option;
  reject(key, "must be one of " + options);
  return fallback;
}

void EnvReader::reject(const std::string& key, const std::string& reason) {
  problems_.push_back(key + " " + reason);
}

Result<void> EnvReader::finish() const {
  if (problems_.empty()) return {};
  std::string message = "invalid configuration: ";
  for (std::size_t i = 0; i < problems_.size(); ++i) {
    if (i > 0) message += "; ";
    message += problems_[i];
  }
  return fail(Errc::kInvalidInput, std::move(message));
}

}  // namespace otp::config
