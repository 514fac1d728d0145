#pragma once

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

namespace otp::log {

/// Configures the process-wide spdlog logger: one line per event on stderr,
/// `<time> <level> <service> <event> key=value ...`. Call once in main(), before any thread
/// starts. `level` is trace|debug|info|warn|error.
void init(std::string_view service, std::string_view level);

/// A phone number with all but the country prefix and the last two digits hidden
/// (`+1415*****71`), or an email with the local part hidden but its first and last character
/// (`a******8@gmail.com`). Log lines and API replies never carry more of a recipient.
[[nodiscard]] std::string mask_recipient(std::string_view recipient);

}  // namespace otp::log
