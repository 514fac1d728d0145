// Template rendering and provider request building: what the delivery worker does for every
// message before a request goes on the wire (services/delivery/templates, providers).

#include "services/delivery/providers/meta_whatsapp_provider.h"
#include "services/delivery/providers/sms_encoding.h"
#include "services/delivery/providers/twilio_sms_provider.h"
#include "services/delivery/templates/renderer.h"

#include <benchmark/benchmark.h>

namespace {

using otp::delivery::RenderInput;
using otp::messages::Channel;

RenderInput input(Channel channel, std::string recipient, std::string locale) {
  return RenderInput{.tenant = "acme",
                     .channel = channel,
                     .recipient = std::move(recipient),
                     .locale = std::move(locale),
                     .template_name = "",
                     .sender = "Acme",
                     .code = "428913",
                     .expires_in = std::chrono::minutes(10),
                     .app_hash = ""};
}

void run(benchmark::State& state, const otp::delivery::TemplateStore& store,
         const RenderInput& in) {
  otp::delivery::Renderer renderer(store, "OTP");
  for (auto _ : state) benchmark::DoNotOptimize(renderer.render(in));
}

void BM_RenderSmsBuiltinEn(benchmark::State& state) {
  otp::delivery::InMemoryTemplateStore store;
  run(state, store, input(Channel::kSms, "+14155550100", "en"));
}
BENCHMARK(BM_RenderSmsBuiltinEn);

// Locale from the phone number (libphonenumber parse) and a UCS-2 segment count.
void BM_RenderSmsLocaleFromPhone(benchmark::State& state) {
  otp::delivery::InMemoryTemplateStore store;
  run(state, store, input(Channel::kSms, "+5511987654321", ""));
}
BENCHMARK(BM_RenderSmsLocaleFromPhone);

void BM_RenderSmsTenantTemplate(benchmark::State& state) {
  otp::delivery::InMemoryTemplateStore store;
  for (int t = 0; t < 1000; ++t) {
    store.put({.tenant = "t" + std::to_string(t),
               .channel = "sms",
               .locale = "en",
               .name = "default",
               .subject = "",
               .body = "{{code}} {{brand}}",
               .sender = ""});
  }
  store.put({.tenant = "acme",
             .channel = "sms",
             .locale = "en",
             .name = "default",
             .subject = "",
             .body = "{{code}} is your {{brand}} code ({{minutes}} min)",
             .sender = "ACME"});
  run(state, store, input(Channel::kSms, "+14155550100", "en"));
}
BENCHMARK(BM_RenderSmsTenantTemplate);

void BM_RenderEmail(benchmark::State& state) {
  otp::delivery::InMemoryTemplateStore store;
  run(state, store, input(Channel::kEmail, "ana@example.com", "de"));
}
BENCHMARK(BM_RenderEmail);

void BM_SmsSegments(benchmark::State& state) {
  const std::string text = "428913 é o seu código de verificação Acme. Não o compartilhe.";
  for (auto _ : state) benchmark::DoNotOptimize(otp::delivery::sms_encoding(text));
}
BENCHMARK(BM_SmsSegments);

void BM_BuildTwilioRequest(benchmark::State& state) {
  otp::delivery::TwilioConfig config;
  config.account_sid = "AC11111111111111111111111111111111";
  config.auth_token = otp::config::Secret("token");
  config.from = "+15005550006";
  const otp::delivery::TwilioSmsProvider provider(config);
  const otp::delivery::OutboundMessage message{
      .tenant = "acme",
      .job_id = "job",
      .channel = "sms",
      .to = "+14155550100",
      .body = "428913 is your Acme code. Expires in 10 min. Do not share it."};
  for (auto _ : state) benchmark::DoNotOptimize(provider.build_request(message));
}
BENCHMARK(BM_BuildTwilioRequest);

void BM_BuildMetaRequest(benchmark::State& state) {
  otp::delivery::MetaWhatsAppConfig config;
  config.phone_number_id = "106540352242922";
  config.access_token = otp::config::Secret("token");
  const otp::delivery::MetaWhatsAppProvider provider(nullptr, config);
  const otp::delivery::OutboundMessage message{.tenant = "acme",
                                               .job_id = "job",
                                               .channel = "whatsapp",
                                               .to = "+5511987654321",
                                               .code = "428913",
                                               .locale = "pt"};
  for (auto _ : state) benchmark::DoNotOptimize(provider.build_request(message));
}
BENCHMARK(BM_BuildMetaRequest);

}  // namespace
