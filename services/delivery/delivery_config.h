#pragma once

#include "common/config/env.h"
#include "common/error/error.h"
#include "common/kafka/record.h"
#include "common/messages/types.h"
#include "services/delivery/providers/meta_whatsapp_provider.h"
#include "services/delivery/providers/resend_email_provider.h"
#include "services/delivery/providers/smtp_email_provider.h"
#include "services/delivery/providers/vonage_sms_provider.h"

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

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

  // ---- delivery engine (issue 5) ----
  /// Providers of this channel in failover order (`OTP_<CHANNEL>_PROVIDER`, comma-separated, e.g.
  /// `twilio,vonage`); `provider` is the first.
  std::vector<std::string> providers = {"outbox"};
  std::string consumer_group;            ///< OTP_CONSUMER_GROUP, default otp-delivery-<channel>
  std::size_t concurrency = 256;         ///< OTP_DELIVERY_CONCURRENCY: requests in flight
  std::size_t max_pending_jobs = 1024;   ///< OTP_DELIVERY_MAX_PENDING
  std::size_t max_held_retries = 20000;  ///< OTP_DELIVERY_MAX_HELD_RETRIES
  /// OTP_DELIVERY_PAUSE_AFTER_MS: a full feed is paused (and polled) after this long.
  std::chrono::milliseconds pause_after{5000};
  int max_attempts = 8;                               ///< OTP_DELIVERY_MAX_ATTEMPTS
  std::chrono::milliseconds backoff_initial{500};     ///< OTP_DELIVERY_BACKOFF_INITIAL_MS
  std::chrono::milliseconds backoff_max{30000};       ///< OTP_DELIVERY_BACKOFF_MAX_MS
  std::chrono::milliseconds max_retry_after{300000};  ///< OTP_DELIVERY_MAX_RETRY_AFTER_MS
  int breaker_failures = 5;                           ///< OTP_DELIVERY_BREAKER_FAILURES
  std::chrono::milliseconds breaker_open{5000};       ///< OTP_DELIVERY_BREAKER_OPEN_MS
  /// Per provider pacing, `OTP_<PROVIDER>_RATE_PER_SECOND` / `_BURST` (provider name upper-cased,
  /// `-` as `_`); 0 = unpaced.
  std::map<std::string, std::pair<double, double>> pacing;
  std::size_t blocking_threads = 4;  ///< OTP_DELIVERY_BLOCKING_THREADS: outbox/SMTP senders

  // ---- providers (issue 5): credentials, read only for the providers named in the list ----
  /// sms: twilio, vonage; email: smtp, resend; whatsapp: meta, twilio-whatsapp (and outbox).
  VonageConfig vonage;      ///< OTP_VONAGE_BASE_URL, _API_KEY, _API_SECRET, _FROM
  ResendConfig resend;      ///< OTP_RESEND_BASE_URL, _API_KEY, _FROM
  SmtpConfig smtp;          ///< OTP_SMTP_URL, _USERNAME, _PASSWORD, _FROM, _REQUIRE_TLS, _CA_FILE
  MetaWhatsAppConfig meta;  ///< OTP_META_BASE_URL, _API_VERSION, _PHONE_NUMBER_ID, ...
  std::string twilio_whatsapp_from;  ///< OTP_TWILIO_WHATSAPP_FROM (E.164, without `whatsapp:`)
  std::string twilio_whatsapp_content_sid;  ///< OTP_TWILIO_WHATSAPP_CONTENT_SID (`HX...`)
  /// OTP_PG_URL: tenant templates and sender ids (migration 0007); empty = built-ins only.
  config::Secret templates_pg_url;
  std::chrono::milliseconds template_refresh{5000};  ///< OTP_TEMPLATE_REFRESH_MS
  // ---- end providers ----

  /// `channel_flag` is the `--channel` argument, if given (it wins over OTP_CHANNEL).
  static Result<DeliveryConfig> from_env(const std::string& channel_flag,
                                         config::EnvReader env = config::EnvReader());
};

}  // namespace otp::delivery
