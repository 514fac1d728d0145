#pragma once

#include "common/messages/types.h"

#include <chrono>
#include <string>
#include <string_view>

namespace otp::delivery {

struct RenderedMessage {
  std::string subject;  ///< email only
  std::string body;
};

/// Turns a code into the text a person receives. Foundation: one built-in English template per
/// channel; per-tenant and per-locale templates come later behind this same function. The result
/// holds the code in clear: it lives only in memory and goes only to the provider.
[[nodiscard]] RenderedMessage render_message(messages::Channel channel, std::string_view brand,
                                             std::string_view code,
                                             std::chrono::minutes expires_in);

}  // namespace otp::delivery
