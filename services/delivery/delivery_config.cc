#include "services/delivery/delivery_config.h"

#include "common/kafka/settings.h"

namespace otp::delivery {

Result<DeliveryConfig> DeliveryConfig::from_env(const std::string& channel_flag,
                                                config::EnvReader env) {
  DeliveryConfig config;
  std::string channel = channel_flag.empty() ? env.required_string("OTP_CHANNEL") : channel_flag;
  if (!channel.empty()) {
    if (auto parsed = messages::parse_channel(channel)) {
      config.channel = *parsed;
    } else {
      env.reject("--channel/OTP_CHANNEL", "must be sms, email or whatsapp");
    }
  }
  config.kafka = kafka::settings_from_env(env, "otp-delivery-" + channel);
  config.topic_prefix = env.string("OTP_TOPIC_PREFIX", config.topic_prefix);
  config.log_level =
      env.choice("OTP_LOG_LEVEL", "info", {"trace", "debug", "info", "warn", "error"});
  config.seal_keys = env.required_secret("OTP_SEAL_KEYS");
  config.brand = env.string("OTP_BRAND", config.brand);
  config.provider_timeout =
      env.millis("OTP_PROVIDER_TIMEOUT_MS", config.provider_timeout, std::chrono::milliseconds(100),
                 std::chrono::milliseconds(60000));

  // Each channel names its provider in its own key so one environment can configure all three.
  std::string provider_key = "OTP_" +
                             std::string(channel == "whatsapp" ? "WHATSAPP"
                                         : channel == "email"  ? "EMAIL"
                                                               : "SMS") +
                             "_PROVIDER";
  std::vector<std::string> allowed = {"outbox"};
  if (config.channel == messages::Channel::kSms) allowed.emplace_back("twilio");
  config.provider = env.choice(provider_key, "outbox", allowed);
  if (config.provider == "outbox") {
    config.outbox_path = env.required_string("OTP_OUTBOX_PATH");
  } else {
    config.twilio_base_url = env.string("OTP_TWILIO_BASE_URL", config.twilio_base_url);
    config.twilio_account_sid = env.required_string("OTP_TWILIO_ACCOUNT_SID");
    config.twilio_auth_token = env.required_secret("OTP_TWILIO_AUTH_TOKEN");
    config.twilio_from = env.string("OTP_TWILIO_FROM", "");
    config.twilio_messaging_service_sid = env.string("OTP_TWILIO_MESSAGING_SERVICE_SID", "");
    if (config.twilio_from.empty() && config.twilio_messaging_service_sid.empty()) {
      env.reject("OTP_TWILIO_FROM", "or OTP_TWILIO_MESSAGING_SERVICE_SID is required");
    }
  }
  if (auto done = env.finish(); !done) return tl::unexpected(done.error());
  return config;
}

}  // namespace otp::delivery
