// otp-delivery --channel sms|email|whatsapp: one process per channel, each its own consumer group.
// Composition root: config -> keys -> providers (failover order) -> stage -> engine -> run.

#include "common/crypto/key_ring.h"
#include "common/crypto/sealer.h"
#include "common/http/curl_multi_client.h"
#include "common/kafka/consumer.h"
#include "common/kafka/producer.h"
#include "common/kafka/settings.h"
#include "common/log/log.h"
#include "common/process/signals.h"
#include "services/delivery/delivery_config.h"
#include "services/delivery/delivery_stage.h"
#include "services/delivery/engine/blocking_provider_pool.h"
#include "services/delivery/engine/delivery_engine.h"
#include "services/delivery/engine/http_provider_adapter.h"
#include "services/delivery/providers/meta_whatsapp_provider.h"
#include "services/delivery/providers/outbox_provider.h"
#include "services/delivery/providers/resend_email_provider.h"
#include "services/delivery/providers/smtp_email_provider.h"
#include "services/delivery/providers/twilio_sms_provider.h"
#include "services/delivery/providers/vonage_sms_provider.h"
#include "services/delivery/templates/pg_template_store.h"
#include "services/delivery/templates/renderer.h"
#include "services/delivery/templates/template_store.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace otp;

std::string channel_flag(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--channel" && i + 1 < argc) return argv[i + 1];
    if (arg.rfind("--channel=", 0) == 0) return arg.substr(10);
  }
  return {};
}

// ---- providers (construction block; the `providers` helper owns the provider-specific parts) --
// One entry per name in config.providers, in failover order. HTTP providers are pure halves run
// over the shared curl multi client (`HttpProviderAdapter`); synchronous ones (the dev outbox,
// SMTP) run on a small thread pool (`BlockingProviderPool`).
std::shared_ptr<delivery::AsyncProvider> build_provider(
    const std::string& name, const delivery::DeliveryConfig& config,
    const std::shared_ptr<http::AsyncHttpClient>& http, const Clock& clock) {
  if (name == "twilio") {
    auto twilio = std::make_shared<const delivery::TwilioSmsProvider>(
        delivery::TwilioConfig{.base_url = config.twilio_base_url,
                               .account_sid = config.twilio_account_sid,
                               .auth_token = config.twilio_auth_token,
                               .from = config.twilio_from,
                               .messaging_service_sid = config.twilio_messaging_service_sid,
                               .timeout = config.provider_timeout});
    return std::make_shared<delivery::HttpProviderAdapter>(std::move(twilio), http);
  }
  if (name == "twilio-whatsapp") {
    auto twilio = std::make_shared<const delivery::TwilioWhatsAppProvider>(
        delivery::TwilioConfig{.base_url = config.twilio_base_url,
                               .account_sid = config.twilio_account_sid,
                               .auth_token = config.twilio_auth_token,
                               .from = config.twilio_whatsapp_from,
                               .messaging_service_sid = "",
                               .timeout = config.provider_timeout,
                               .whatsapp = true,
                               .content_sid = config.twilio_whatsapp_content_sid});
    return std::make_shared<delivery::HttpProviderAdapter>(std::move(twilio), http);
  }
  if (name == "vonage") {
    return std::make_shared<delivery::HttpProviderAdapter>(
        std::make_shared<const delivery::VonageSmsProvider>(nullptr, config.vonage), http);
  }
  if (name == "resend") {
    return std::make_shared<delivery::HttpProviderAdapter>(
        std::make_shared<const delivery::ResendEmailProvider>(nullptr, config.resend), http);
  }
  if (name == "meta") {
    return std::make_shared<delivery::HttpProviderAdapter>(
        std::make_shared<const delivery::MetaWhatsAppProvider>(nullptr, config.meta), http);
  }
  if (name == "smtp") {
    // Thread-safe (an easy handle per send): every pool thread shares one instance.
    auto smtp = std::make_shared<delivery::SmtpEmailProvider>(config.smtp);
    struct SharedSmtp final : delivery::Provider {
      explicit SharedSmtp(std::shared_ptr<delivery::SmtpEmailProvider> p) : inner(std::move(p)) {}
      std::string_view name() const override { return inner->name(); }
      Result<delivery::ProviderReceipt> send(const delivery::OutboundMessage& m) override {
        return inner->send(m);
      }
      std::shared_ptr<delivery::SmtpEmailProvider> inner;
    };
    return std::make_shared<delivery::BlockingProviderPool>(
        [smtp] { return std::make_unique<SharedSmtp>(smtp); }, config.blocking_threads);
  }
  if (name == "outbox") {
    spdlog::warn("delivery.outbox_provider path={} note=\"dev only: codes are written in clear\"",
                 config.outbox_path);
    // One file, one provider (it is thread-safe): every pool thread shares it.
    auto outbox = std::make_shared<delivery::OutboxProvider>(config.outbox_path, clock);
    struct Shared final : delivery::Provider {
      explicit Shared(std::shared_ptr<delivery::OutboxProvider> p) : inner(std::move(p)) {}
      std::string_view name() const override { return inner->name(); }
      Result<delivery::ProviderReceipt> send(const delivery::OutboundMessage& m) override {
        return inner->send(m);
      }
      std::shared_ptr<delivery::OutboxProvider> inner;
    };
    return std::make_shared<delivery::BlockingProviderPool>(
        [outbox] { return std::make_unique<Shared>(outbox); }, config.blocking_threads);
  }
  throw std::invalid_argument("no provider called " + name);
}
// ---- end providers ----

int run(const delivery::DeliveryConfig& config) {
  std::atomic<bool> stop{false};
  process::stop_on_signals(stop);

  auto keys = crypto::KeyRing::parse(config.seal_keys.reveal());
  if (!keys) {
    spdlog::error("delivery.config_invalid key=OTP_SEAL_KEYS reason=\"{}\"", keys.error().message);
    return 2;
  }
  OpenSslRng rng;
  crypto::Sealer sealer(*keys, rng);
  SystemClock clock;

  auto http = std::make_shared<http::CurlMultiClient>(http::CurlMultiOptions{
      .max_connections = static_cast<long>(config.concurrency), .max_host_connections = 0});
  std::vector<delivery::ProviderSlot> slots;
  std::vector<std::string> names;
  for (const auto& name : config.providers) {
    const auto pacing = config.pacing.count(name) ? config.pacing.at(name) : std::pair{0.0, 1.0};
    slots.push_back(delivery::ProviderSlot{
        .provider = build_provider(name, config, http, clock),
        .rate_per_second = pacing.first,
        .burst = pacing.second,
        .breaker = delivery::BreakerPolicy{.failure_threshold = config.breaker_failures,
                                           .open_for = config.breaker_open}});
    names.emplace_back(slots.back().provider->name());
  }

  auto topics = messages::Topics::with_prefix(config.topic_prefix);
  std::string channel(messages::to_string(config.channel));
  // Events and retries are not latency-critical next to a provider's round trip: a 10 ms linger
  // (2 ms by default) batches them, which cut the producer thread's CPU per delivery by about
  // four. OTP_KAFKA_PROPERTIES still wins (here and below).
  auto producer =
      kafka::KafkaProducer::create(kafka::with_defaults(config.kafka, {{"linger.ms", "10"}}));
  // The engine holds at most OTP_DELIVERY_MAX_PENDING jobs and stops polling when full; the next
  // records wait in librdkafka's prefetch queue. Its defaults (64 MiB, 1 MiB per partition and
  // fetch) would dominate the RSS: 1 MiB (~1,500 jobs, a quarter second at 6,000/s) is plenty on
  // a broker one round trip away.
  const auto consumer_settings = kafka::with_defaults(
      config.kafka,
      {{"queued.max.messages.kbytes", "1024"}, {"max.partition.fetch.bytes", "262144"}});
  auto jobs = kafka::Consumer::create(consumer_settings, config.consumer_group);
  auto retries = kafka::Consumer::create(consumer_settings, config.consumer_group + "-retry");
  if (!producer || !jobs || !retries) {
    spdlog::error("delivery.kafka_setup_failed reason=\"{}\"", !producer ? producer.error().message
                                                               : !jobs   ? jobs.error().message
                                                                         : retries.error().message);
    return 1;
  }
  if (auto warm =
          (*producer)->warm_up({topics.events, topics.delivery_retry}, std::chrono::seconds(5));
      !warm) {
    spdlog::warn("delivery.kafka_warm_up_failed reason=\"{}\"", warm.error().message);
  }
  if (auto subscribed = (*jobs)->subscribe({topics.delivery(config.channel)}); !subscribed) {
    spdlog::error("delivery.subscribe_failed reason=\"{}\"", subscribed.error().message);
    return 1;
  }
  if (auto subscribed = (*retries)->subscribe({topics.delivery_retry}); !subscribed) {
    spdlog::error("delivery.subscribe_failed reason=\"{}\"", subscribed.error().message);
    return 1;
  }

  // Templates: built-in defaults; tenant templates when a store is configured (providers block).
  delivery::InMemoryTemplateStore builtin_only;
  std::unique_ptr<delivery::PgTemplateStore> tenant_templates;  // ---- providers: templates ----
  if (!config.templates_pg_url.empty()) {
    tenant_templates = std::make_unique<delivery::PgTemplateStore>(config.templates_pg_url,
                                                                   config.template_refresh);
    if (auto loaded = tenant_templates->start(); !loaded) {
      spdlog::warn(
          "delivery.templates_unavailable reason=\"{}\" note=\"built-ins until a refresh "
          "succeeds\"",
          loaded.error().message);
    }
  }
  const delivery::TemplateStore& templates =
      tenant_templates ? static_cast<const delivery::TemplateStore&>(*tenant_templates)
                       : builtin_only;
  delivery::Renderer renderer(templates, config.brand);
  delivery::RenderFunction render = [&renderer](const delivery::RenderInput& input) {
    return renderer.render(input);
  };
  delivery::DeliveryStage stage(config.channel, names, sealer, clock, rng, topics,
                                std::move(render),
                                delivery::RetryPolicy{.max_attempts = config.max_attempts,
                                                      .initial_backoff = config.backoff_initial,
                                                      .max_backoff = config.backoff_max,
                                                      .max_retry_after = config.max_retry_after});
  delivery::DeliveryEngine engine(stage, std::move(slots), **producer, clock,
                                  delivery::EngineOptions{
                                      .concurrency = config.concurrency,
                                      .max_pending_jobs = config.max_pending_jobs,
                                      .max_held_retries = config.max_held_retries,
                                      .pause_after = config.pause_after,
                                      .idle_poll = std::chrono::milliseconds(50),
                                      .drain_timeout = std::chrono::milliseconds(15000),
                                      .stage_name = "delivery-" + channel,
                                      .dlq_topic = topics.dlq,
                                  });
  if (config.max_pending_jobs < config.concurrency) {
    spdlog::warn(
        "delivery.config_note OTP_DELIVERY_MAX_PENDING={} is below OTP_DELIVERY_CONCURRENCY={}: "
        "at most {} sends are in flight",
        config.max_pending_jobs, config.concurrency, config.max_pending_jobs);
  }
  spdlog::info("delivery.started channel={} providers={} topic={} concurrency={}", channel,
               fmt::join(names, ","), topics.delivery(config.channel), config.concurrency);
  auto outcome = engine.run(**jobs, **retries, stop);
  const auto stats = engine.stats();
  spdlog::info(
      "delivery.stats consumed={} sends={} sent={} send_failures={} expired={} deferred={} "
      "dead_lettered={}",
      stats.consumed, stats.sends_started, stats.sent, stats.send_failures, stats.expired,
      stats.deferred, stats.dead_lettered);
  if (!outcome) {
    spdlog::error("delivery.stopped_on_error reason=\"{}\"", outcome.error().message);
    return 1;
  }
  spdlog::info("delivery.stopped channel={}", channel);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto config = otp::delivery::DeliveryConfig::from_env(channel_flag(argc, argv));
  if (!config) {
    std::fprintf(stderr, "otp-delivery: %s\n", config.error().message.c_str());
    return 2;
  }
  otp::log::init("otp-delivery-" + std::string(otp::messages::to_string(config->channel)),
                 config->log_level);
  try {
    return run(*config);
  } catch (const std::exception& error) {  // start-up failures (e.g. the outbox file)
    spdlog::error("delivery.startup_failed reason=\"{}\"", error.what());
    return 1;
  }
}
