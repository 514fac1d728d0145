// otp-intake: the HTTP front door. config -> log -> adapters -> run; see README.md.

#include "common/crypto/key_ring.h"
#include "common/crypto/sealer.h"
#include "common/error/check.h"
#include "common/kafka/consumer.h"
#include "common/kafka/producer.h"
#include "common/log/log.h"
#include "common/messages/topics.h"
#include "common/pg/pg_connection.h"
#include "common/phone/numbering_plans.h"
#include "common/process/signals.h"
#include "common/random/rng.h"
#include "common/time/clock.h"
#include "services/intake/api_router.h"
#include "services/intake/auth/api_key_cache.h"
#include "services/intake/auth/jwt.h"
#include "services/intake/auth/oauth_token_handler.h"
#include "services/intake/auth/pg_api_key_loader.h"
#include "services/intake/authenticator.h"
#include "services/intake/buffered_rng.h"
#include "services/intake/compat/compat_routes.h"
#include "services/intake/compat/delivery_waits.h"
#include "services/intake/compat/pg_directory.h"
#include "services/intake/compat/seed000_handler.h"
#include "services/intake/compat/seed002_handler.h"
#include "services/intake/cors.h"
#include "services/intake/handlers/cancel_handler.h"
#include "services/intake/handlers/resend_handler.h"
#include "services/intake/handlers/send_handler.h"
#include "services/intake/handlers/status_handler.h"
#include "services/intake/handlers/verify_handler.h"
#include "services/intake/http_server.h"
#include "services/intake/intake_config.h"
#include "services/intake/kafka_request_publisher.h"
#include "services/intake/management/management_keys.h"
#include "services/intake/management/management_routes.h"
#include "services/intake/metrics.h"
#include "services/intake/pending_replies.h"
#include "services/intake/readiness.h"
#include "services/intake/reply_router.h"
#include "services/intake/webhooks/webhook_handler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <thread>

namespace {

using namespace std::chrono_literals;
using namespace otp;
using namespace otp::intake;

int run(const IntakeConfig& config, const std::atomic<bool>& stop) {
  auto keys = crypto::KeyRing::parse(config.seal_keys.reveal());
  OTP_CHECK(keys.has_value());  // from_env already parsed it
  OpenSslRng csprng;
  // Ids, nonces and keys all come from the CSPRNG, a 4 KiB draw at a time (buffered_rng.h).
  BufferedRng rng(csprng);
  SystemClock clock;
  const crypto::Sealer sealer(*keys, rng);
  const auto topics = messages::Topics::with_prefix(config.topic_prefix);

  // Declared before the producer: its last delivery reports (while it flushes in its destructor)
  // still reach this map.
  PendingReplies pending;
  auto producer = kafka::KafkaProducer::create(config.producer_settings());
  if (!producer) {
    spdlog::error("intake.kafka_failed reason=\"{}\"", producer.error().message);
    return 1;
  }
  // Without this the first request to each topic waits about a second for topic metadata. Not
  // fatal: with Kafka down the intake still starts, is not ready, and answers 503.
  if (auto warm = (*producer)->warm_up({topics.send_requests, topics.verify_requests}, 5s); !warm) {
    spdlog::warn("intake.kafka_warm_up_failed reason=\"{}\"", warm.error().message);
  }
  auto consumer = kafka::Consumer::create(config.kafka,
                                          "otp-intake-replies-" + std::to_string(config.instance));
  if (!consumer) {
    spdlog::error("intake.kafka_failed reason=\"{}\"", consumer.error().message);
    return 1;
  }
  ReplyRouter router(**consumer, **producer, pending, rng,
                     ReplyRouter::Settings{.topic = topics.replies, .partition = config.instance});
  if (auto started = router.start(); !started) {
    spdlog::error("intake.kafka_failed reason=\"{}\"", started.error().message);
    return 1;
  }
  std::jthread sweeper([&pending](const std::stop_token& token) { pending.run_expiry(token); });

  KafkaRequestPublisher publisher(**producer, pending, router, rng,
                                  KafkaRequestPublisher::Settings{
                                      .reply_partition = config.instance,
                                      .reply_timeout = config.reply_timeout,
                                  });
  // --- auth: the dev key, database keys cached by a refresh thread, access tokens ---
  const DevKeyAuthenticator dev_key(config.dev_tenant, config.dev_api_key, config.dev_api_secret);
  std::optional<pg::PgConnection> auth_db;
  std::optional<auth::PgApiKeyLoader> key_loader;
  std::optional<auth::ApiKeyCache> key_cache;
  std::jthread key_refresher;  // declared after what it uses: stopped and joined first
  if (!config.pg_url.empty()) {
    auth_db.emplace(config.pg_url,
                    pg::PgOptions{.application_name = "otp-intake", .statement_timeout = 5s});
    key_loader.emplace(*auth_db);
    key_cache.emplace(*key_loader);
    key_refresher =
        std::jthread([&key_cache, interval = config.auth_refresh](const std::stop_token& token) {
          key_cache->run(token, interval);
        });
  }
  std::optional<crypto::KeyRing> jwt_keys;
  std::optional<auth::AccessTokenCodec> access_tokens;
  if (!config.jwt_keys.empty()) {
    jwt_keys.emplace(*crypto::KeyRing::parse(config.jwt_keys.reveal()));  // from_env checked it
    access_tokens.emplace(*jwt_keys);
  }
  const ApiAuthenticator authenticator({.dev_key = &dev_key,
                                        .keys = key_cache ? &*key_cache : nullptr,
                                        .tokens = access_tokens ? &*access_tokens : nullptr},
                                       clock);
  SendHandler send(publisher, rng, clock, topics);
  VerifyHandler verify(publisher, sealer, rng, clock, topics, config.reply_timeout);
  ApiRouter api(authenticator, config.max_body_bytes);
  // --- HTTP API (api): /readyz also needs PostgreSQL when OTP_PG_URL is set ---
  std::optional<PgReadiness> pg_ready;
  std::vector<ReadinessProbe> probes;
  if (!config.pg_url.empty()) {
    pg_ready.emplace(config.pg_url, 2s);
    probes.emplace_back([&pg_ready] { return pg_ready->unready_reason(); });
  }
  add_core_routes(api, send, verify, router, std::move(probes));
  // --- HTTP API (api): resend/cancel/status, metrics, CORS ---
  VerificationActions actions(publisher, rng, clock, topics);
  ResendHandler resend(actions);
  CancelHandler cancel(actions);
  StatusHandler status(actions);
  add_verification_routes(api, resend, cancel, status);
  HttpMetrics metrics;
  add_metrics_route(api, metrics);
  const Cors cors(config.cors_origins);
  // --- compat: seed-000/002 routes and provider status webhooks ---
  compat::PendingDeliveryWaits delivery_waits(pending);
  std::unique_ptr<compat::Directory> directory;
  if (config.pg_url.empty()) {
    directory = std::make_unique<compat::NoDirectory>();
  } else {
    directory = std::make_unique<compat::PgDirectory>(config.pg_url, config.compat.directory_cache);
  }
  compat::Seed002Handler seed002(publisher, sealer, rng, clock, topics, config.compat.tenant,
                                 config.reply_timeout);
  compat::Seed000Handler seed000(publisher, delivery_waits, *directory, sealer, rng, clock, topics,
                                 {.tenant = config.compat.tenant,
                                  .reply_timeout = config.reply_timeout,
                                  .delivery_timeout = config.compat.delivery_timeout});
  compat::add_compat_routes(api, seed002, seed000, authenticator, config.compat);
  webhooks::WebhookHandler webhook_handler(**producer, clock, topics, config.webhooks);
  webhooks::add_webhook_routes(api, webhook_handler, config.webhooks);
  // --- audit: management endpoints (GET /otp/list, logs, attempts, reports, rate-limits) ---
  std::optional<crypto::KeyRing> hmac_keys;
  if (!config.hmac_keys.empty()) {
    hmac_keys.emplace(*crypto::KeyRing::parse(config.hmac_keys.reveal()));  // from_env checked it
  }
  const management::CursorCodec cursors(
      management::cursor_key(hmac_keys ? &*hmac_keys : nullptr, rng));
  std::optional<management::QueryPool> mgmt_pool;
  if (!config.pg_url.empty()) {
    mgmt_pool.emplace(config.pg_url, static_cast<std::size_t>(config.mgmt_threads),
                      config.mgmt_statement_timeout);
  }
  const management::ManagementHandlers management_handlers(
      mgmt_pool ? &*mgmt_pool : nullptr, cursors,
      management::recipient_hasher(hmac_keys ? &*hmac_keys : nullptr));
  management::add_management_routes(api, management_handlers);
  // --- auth: POST /oauth/token (only with OTP_JWT_KEYS) ---
  std::optional<auth::OAuthTokenHandler> oauth;
  if (access_tokens) {
    oauth.emplace(authenticator, *access_tokens, clock, config.jwt_ttl);
    add_oauth_token_route(api, *oauth);
  }

  // The phone number tables (otp::phone) are built on first use: build them all now, before the
  // listener, so no client's send pays for it (about a second in a sanitizer build).
  phone::NumberingPlans::shared().compile_all();

  auto server = HttpServer::start(
      HttpServerSettings{
          .host = config.http_host,
          .port = config.http_port,
          .threads = config.http_threads,
          .max_body_bytes = config.max_body_bytes,
          .read_timeout = config.read_timeout,
          // A backstop: handlers always answer by the reply deadline.
          // compat: /send-otp waits for the delivery outcome, which may take longer.
          .handle_timeout = std::max(config.reply_timeout, config.compat.delivery_timeout) + 5s,
      },
      [&api, &cors, &metrics](HttpRequest request, ResponseCallback respond) {
        metrics.request_started();
        cors.handle(
            request,
            [&metrics, respond = std::move(respond)](HttpResponse response) {
              metrics.request_finished();
              respond(std::move(response));
            },
            [&api](const HttpRequest& inner, ResponseCallback inner_respond) {
              api.handle(inner, std::move(inner_respond));
            });
      });
  if (!server) {
    spdlog::error("intake.listen_failed reason=\"{}\"", server.error().message);
    return 1;
  }
  const auto started_at = std::chrono::steady_clock::now();
  spdlog::info("intake.listening host={} port={} instance={} threads={}", config.http_host,
               (*server)->port(), config.instance, config.http_threads);

  bool announced = false;
  while (!stop.load() && !router.failed()) {
    if (!announced && router.accepting_requests()) {
      announced = true;
      spdlog::info("intake.ready after_ms={}",
                   std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now() - started_at)
                       .count());
    }
    std::this_thread::sleep_for(50ms);
  }

  // Graceful: refuse new work, let waiting requests get their reply or their deadline, answer
  // what is left, then stop the threads. The producer flushes in its destructor.
  const int exit_code = router.failed() ? 1 : 0;
  spdlog::info("intake.stopping in_flight={}", (*server)->in_flight());
  router.begin_drain();
  (*server)->stop_accepting();
  (*server)->wait_idle(config.reply_timeout + 1s);
  pending.fail_all(Error{Errc::kUnavailable, "shutting down"});
  (*server)->wait_idle(1s);
  (*server)->stop();
  sweeper.request_stop();
  sweeper.join();
  router.stop();
  (*producer)->flush(5s);
  spdlog::info("intake.stopped exit_code={}", exit_code);
  return exit_code;
}

}  // namespace

int main() {
  auto config = IntakeConfig::from_env();
  if (!config) {
    std::fprintf(stderr, "otp-intake: %s\n", config.error().message.c_str());
    return 2;
  }
  otp::log::init("otp-intake", config->log_level);
  std::atomic<bool> stop{false};
  otp::process::stop_on_signals(stop);
  try {
    return run(*config, stop);
  } catch (const std::exception& e) {
    spdlog::error("intake.startup_failed reason=\"{}\"", e.what());
    return 1;
  }
}
