#pragma once

#include "common/config/env.h"
#include "common/error/error.h"
#include "common/kafka/record.h"
#include "common/messages/types.h"

#include <chrono>
#include <string>

namespace otp::delivery {

/// Everything `otp-delivery` reads at start-up. One process serves one channel.
struct DeliveryConfig {
  messages::Channel channel = messages::Channel::kSms;
  kafka::KafkaSettings kafka;
  std::string topic_prefix = "otp.";
  std::string log_level = "info";
  config::Secret seal_keys;   ///< OTP_SEAL_KEYS: unseals the codes in delivery jobs
  std::string brand = "OTP";  ///< the name in the message ("Your <brand> code is ...")
  /// `outbox` (dev: a JSON-lines file) or, for SMS, `twilio`.
  std::string provider = "outbox";
  std::string outbox_path;
  std::string twilio_base_url = "https://api.twilio.com";
  std::string twilio_account_sid;
  config::Secret twilio_auth_token;
  std::string twilio_from;
  std::string twilio_messaging_service_sid;
  std::chrono::milliseconds provider_timeout{10000};

  /// `channel_flag` is the `--channel` argument, if given (it wins over OTP_CHANNEL).
  static Result<DeliveryConfig> from_env(const std::string& channel_flag,
                                         config::EnvReader env = config::EnvReader());
};

}  // namespace otp::delivery
