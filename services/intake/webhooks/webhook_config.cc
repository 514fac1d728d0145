#include "services/intake/webhooks/webhook_config.h"

namespace otp::intake::webhooks {

WebhookConfig read_webhook_config(config::EnvReader& env) {
  WebhookConfig config;
  config.twilio_auth_token = env.secret("OTP_TWILIO_AUTH_TOKEN");
  config.public_base_url = env.string("OTP_PUBLIC_BASE_URL", "");
  while (!config.public_base_url.empty() && config.public_base_url.back() == '/') {
    config.public_base_url.pop_back();
  }
  config.meta_app_secret = env.secret("OTP_META_APP_SECRET");
  config.meta_verify_token = env.secret("OTP_META_VERIFY_TOKEN");
  // OTP_TWILIO_AUTH_TOKEN is shared with otp-delivery (one environment for every process), so
  // a token alone must not stop the intake: without a base URL the route stays off (logged).
  const auto& url = config.public_base_url;
  if (!url.empty() && url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0) {
    env.reject("OTP_PUBLIC_BASE_URL", "must be an http(s) URL (the one Twilio calls)");
  }
  if (!config.meta_app_secret.empty() && config.meta_verify_token.empty()) {
    env.reject("OTP_META_VERIFY_TOKEN", "is required when OTP_META_APP_SECRET is set");
  }
  return config;
}

}  // namespace otp::intake::webhooks
