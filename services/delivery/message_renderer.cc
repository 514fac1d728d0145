#include "services/delivery/message_renderer.h"

#include <fmt/format.h>

namespace otp::delivery {

RenderedMessage render_message(messages::Channel channel, std::string_view brand,
                               std::string_view code, std::chrono::minutes expires_in) {
  auto minutes = std::max<std::int64_t>(1, expires_in.count());
  RenderedMessage message;
  // Code first: phones show it in the notification preview, and it keeps the SMS in one segment.
  message.body = fmt::format(
      "{} is your {} verification code. It expires in {} minute{}. Do not share it with anyone.",
      code, brand, minutes, minutes == 1 ? "" : "s");
  if (channel == messages::Channel::kEmail) {
    message.subject = fmt::format("Your {} verification code", brand);
  }
  return message;
}

}  // namespace otp::delivery
