#include "common/log/log.h"

#include <spdlog/sinks/stdout_sinks.h>

#include <memory>

namespace otp::log {

void init(std::string_view service, std::string_view level) {
  auto logger = spdlog::stderr_logger_mt(std::string(service));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %l %n %v", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(std::string(level)));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
}

std::string mask_recipient(std::string_view recipient) {
  if (auto at = recipient.find('@'); at != std::string_view::npos) {
    auto local = recipient.substr(0, at);
    std::string masked;
    if (local.size() <= 2) {
      masked.assign(local.size(), '*');
    } else {
      masked.push_back(local.front());
      masked.append(local.size() - 2, '*');
      masked.push_back(local.back());
    }
    return masked + std::string(recipient.substr(at));
  }
  // Phone numbers: keep a short prefix (country code area) and the last two digits.
  constexpr std::size_t kKeepPrefix = 4;
  constexpr std::size_t kKeepSuffix = 2;
  if (recipient.size() <= kKeepPrefix + kKeepSuffix) return std::string(recipient.size(), '*');
  std::string masked(recipient.substr(0, kKeepPrefix));
  masked.append(recipient.size() - kKeepPrefix - kKeepSuffix, '*');
  masked.append(recipient.substr(recipient.size() - kKeepSuffix));
  return masked;
}

}  // namespace otp::log
