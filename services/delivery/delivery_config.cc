#include "services/delivery/delivery_config.h"

#include "common/kafka/settings.h"

#include <algorithm>
#include <cctype>

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
  // ---- providers: the names each channel accepts ----
  if (config.channel == messages::Channel::kSms) allowed.emplace_back("vonage");
  if (config.channel == messages::Channel::kEmail)
    allowed.insert(allowed.end(), {"smtp", "resend"});
  if (config.channel == messages::Channel::kWhatsapp) {
    allowed.insert(allowed.end(), {"meta", "twilio-whatsapp"});
  }
  // ---- delivery engine (issue 5): a provider list in failover order ----
  config.providers = env.list(provider_key, {"outbox"});
  if (config.providers.empty()) config.providers = {"outbox"};
  for (const auto& name : config.providers) {
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      env.reject(provider_key, "unknown provider " + name + " for this channel");
    }
  }
  config.provider = config.providers.front();
  config.consumer_group = env.string("OTP_CONSUMER_GROUP", "otp-delivery-" + channel);
  config.concurrency = static_cast<std::size_t>(env.integer(
      "OTP_DELIVERY_CONCURRENCY", static_cast<std::int64_t>(config.concurrency), 1, 100000));
  config.max_pending_jobs = static_cast<std::size_t>(env.integer(
      "OTP_DELIVERY_MAX_PENDING", static_cast<std::int64_t>(config.max_pending_jobs), 1, 1000000));
  config.max_held_retries = static_cast<std::size_t>(
      env.integer("OTP_DELIVERY_MAX_HELD_RETRIES",
                  static_cast<std::int64_t>(config.max_held_retries), 1, 10000000));
  // Bounded well below librdkafka's max.poll.interval.ms (300 s): a full feed is not polled.
  config.pause_after = env.millis("OTP_DELIVERY_PAUSE_AFTER_MS", config.pause_after,
                                  std::chrono::milliseconds(10), std::chrono::milliseconds(60000));
  config.max_attempts =
      static_cast<int>(env.integer("OTP_DELIVERY_MAX_ATTEMPTS", config.max_attempts, 1, 100));
  config.backoff_initial =
      env.millis("OTP_DELIVERY_BACKOFF_INITIAL_MS", config.backoff_initial,
                 std::chrono::milliseconds(10), std::chrono::milliseconds(600000));
  config.backoff_max =
      env.millis("OTP_DELIVERY_BACKOFF_MAX_MS", config.backoff_max, std::chrono::milliseconds(10),
                 std::chrono::milliseconds(3600000));
  config.max_retry_after =
      env.millis("OTP_DELIVERY_MAX_RETRY_AFTER_MS", config.max_retry_after,
                 std::chrono::milliseconds(0), std::chrono::milliseconds(3600000));
  config.breaker_failures = static_cast<int>(
      env.integer("OTP_DELIVERY_BREAKER_FAILURES", config.breaker_failures, 1, 10000));
  config.breaker_open =
      env.millis("OTP_DELIVERY_BREAKER_OPEN_MS", config.breaker_open, std::chrono::milliseconds(10),
                 std::chrono::milliseconds(600000));
  config.blocking_threads = static_cast<std::size_t>(env.integer(
      "OTP_DELIVERY_BLOCKING_THREADS", static_cast<std::int64_t>(config.blocking_threads), 1, 256));
  for (const auto& name : config.providers) {
    std::string key = "OTP_";
    for (char c : name) {
      key.push_back(c == '-' ? '_'
                             : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    }
    const auto rate = env.integer(key + "_RATE_PER_SECOND", 0, 0, 1000000);
    const auto burst = env.integer(key + "_BURST", std::max<std::int64_t>(1, rate), 1, 1000000);
    config.pacing[name] = {static_cast<double>(rate), static_cast<double>(burst)};
  }
  // ---- end delivery engine ----
  if (std::find(config.providers.begin(), config.providers.end(), "outbox") !=
      config.providers.end()) {
    config.outbox_path = env.required_string("OTP_OUTBOX_PATH");
  }
  const auto uses = [&](const char* name) {
    return std::find(config.providers.begin(), config.providers.end(), name) !=
           config.providers.end();
  };
  if (uses("twilio") || uses("twilio-whatsapp")) {
    config.twilio_base_url = env.string("OTP_TWILIO_BASE_URL", config.twilio_base_url);
    config.twilio_account_sid = env.required_string("OTP_TWILIO_ACCOUNT_SID");
    config.twilio_auth_token = env.required_secret("OTP_TWILIO_AUTH_TOKEN");
    config.twilio_from = env.string("OTP_TWILIO_FROM", "");
    config.twilio_messaging_service_sid = env.string("OTP_TWILIO_MESSAGING_SERVICE_SID", "");
    if (uses("twilio") && config.twilio_from.empty() &&
        config.twilio_messaging_service_sid.empty()) {
      env.reject("OTP_TWILIO_FROM", "or OTP_TWILIO_MESSAGING_SERVICE_SID is required");
    }
  }
  // ---- providers: credentials (issue 5) ----
  if (uses("twilio-whatsapp")) {
    config.twilio_whatsapp_from = env.required_string("OTP_TWILIO_WHATSAPP_FROM");
    config.twilio_whatsapp_content_sid = env.string("OTP_TWILIO_WHATSAPP_CONTENT_SID", "");
  }
  if (uses("vonage")) {
    config.vonage.base_url = env.string("OTP_VONAGE_BASE_URL", config.vonage.base_url);
    config.vonage.api_key = env.required_string("OTP_VONAGE_API_KEY");
    config.vonage.api_secret = env.required_secret("OTP_VONAGE_API_SECRET");
    config.vonage.from = env.required_string("OTP_VONAGE_FROM");
    config.vonage.timeout = config.provider_timeout;
  }
  if (uses("resend")) {
    config.resend.base_url = env.string("OTP_RESEND_BASE_URL", config.resend.base_url);
    config.resend.api_key = env.required_secret("OTP_RESEND_API_KEY");
    config.resend.from = env.required_string("OTP_RESEND_FROM");
    config.resend.timeout = config.provider_timeout;
  }
  if (uses("smtp")) {
    config.smtp.url = env.required_string("OTP_SMTP_URL");
    config.smtp.username = env.string("OTP_SMTP_USERNAME", "");
    config.smtp.password = env.secret("OTP_SMTP_PASSWORD");
    config.smtp.from = env.required_string("OTP_SMTP_FROM");
    config.smtp.require_tls = env.boolean("OTP_SMTP_REQUIRE_TLS", true);
    config.smtp.ca_file = env.string("OTP_SMTP_CA_FILE", "");
    config.smtp.timeout = config.provider_timeout;
  }
  if (uses("meta")) {
    config.meta.base_url = env.string("OTP_META_BASE_URL", config.meta.base_url);
    config.meta.api_version = env.string("OTP_META_API_VERSION", config.meta.api_version);
    config.meta.phone_number_id = env.required_string("OTP_META_PHONE_NUMBER_ID");
    config.meta.access_token = env.required_secret("OTP_META_ACCESS_TOKEN");
    config.meta.template_name = env.string("OTP_META_TEMPLATE_NAME", config.meta.template_name);
    config.meta.default_language =
        env.string("OTP_META_DEFAULT_LANGUAGE", config.meta.default_language);
    config.meta.timeout = config.provider_timeout;
  }
  config.templates_pg_url = env.secret("OTP_PG_URL");
  config.template_refresh =
      env.millis("OTP_TEMPLATE_REFRESH_MS", config.template_refresh, std::chrono::milliseconds(100),
                 std::chrono::milliseconds(3600000));
  // ---- end providers ----
  if (auto done = env.finish(); !done) return tl::unexpected(done.error());
  return config;
}

}  // namespace otp::delivery
