// otp-delivery --channel sms|email|whatsapp: one process per channel, each its own consumer group.

#include "common/crypto/key_ring.h"
#include "common/crypto/sealer.h"
#include "common/http/curl_http_client.h"
#include "common/kafka/consumer.h"
#include "common/kafka/producer.h"
#include "common/kafka/stage_runner.h"
#include "common/log/log.h"
#include "common/process/signals.h"
#include "services/delivery/delivery_config.h"
#include "services/delivery/delivery_stage.h"
#include "services/delivery/providers/outbox_provider.h"
#include "services/delivery/providers/twilio_sms_provider.h"

#include <atomic>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>

namespace {

std::string channel_flag(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--channel" && i + 1 < argc) return argv[i + 1];
    if (arg.rfind("--channel=", 0) == 0) return arg.substr(10);
  }
  return {};
}

int run(const otp::delivery::DeliveryConfig& config) {
  using namespace otp;
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

  http::CurlHttpClient http;
  std::unique_ptr<delivery::Provider> provider;
  if (config.provider == "twilio") {
    provider = std::make_unique<delivery::TwilioSmsProvider>(
        http, delivery::TwilioConfig{.base_url = config.twilio_base_url,
                                     .account_sid = config.twilio_account_sid,
                                     .auth_token = config.twilio_auth_token,
                                     .from = config.twilio_from,
                                     .messaging_service_sid = config.twilio_messaging_service_sid,
                                     .timeout = config.provider_timeout});
  } else {
    spdlog::warn("delivery.outbox_provider path={} note=\"dev only: codes are written in clear\"",
                 config.outbox_path);
    provider = std::make_unique<delivery::OutboxProvider>(config.outbox_path, clock);
  }

  auto topics = messages::Topics::with_prefix(config.topic_prefix);
  std::string channel(messages::to_string(config.channel));
  auto producer = kafka::KafkaProducer::create(config.kafka);
  auto consumer = kafka::Consumer::create(config.kafka, "otp-delivery-" + channel);
  if (!producer || !consumer) {
    spdlog::error("delivery.kafka_setup_failed reason=\"{}\"",
                  !producer ? producer.error().message : consumer.error().message);
    return 1;
  }
  if (auto warm = (*producer)->warm_up({topics.events}, std::chrono::seconds(5)); !warm) {
    spdlog::warn("delivery.kafka_warm_up_failed reason=\"{}\"", warm.error().message);
  }
  if (auto subscribed = (*consumer)->subscribe({topics.delivery(config.channel)}); !subscribed) {
    spdlog::error("delivery.subscribe_failed reason=\"{}\"", subscribed.error().message);
    return 1;
  }

  delivery::DeliveryStage stage(config.channel, *provider, sealer, clock, topics, config.brand);
  kafka::StageRunner runner(
      stage, **producer,
      kafka::RunnerOptions{.stage_name = "delivery-" + channel, .dlq_topic = topics.dlq});
  spdlog::info("delivery.started channel={} provider={} topic={}", channel, provider->name(),
               topics.delivery(config.channel));
  auto outcome = runner.run(**consumer, stop);
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
