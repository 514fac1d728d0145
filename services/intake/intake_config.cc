#include "services/intake/intake_config.h"

#include "common/crypto/key_ring.h"
#include "common/kafka/settings.h"
#include "common/messages/topics.h"

#include <algorithm>

namespace otp::intake {
namespace {

using std::chrono::milliseconds;

// Tenant ids end up in Kafka keys (`tenant:recipient`) and HMAC inputs (`|`-separated): neither
// separator may appear in one.
bool is_tenant_id(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

// An origin as browsers send it: scheme `http` or `https`, `://`, a host of [A-Za-z0-9.-] or a
// bracketed IPv6 address, an optional `:port`; no path, no trailing slash.
bool is_origin(std::string_view origin) {
  std::string_view rest;
  if (origin.starts_with("https://")) {
    rest = origin.substr(8);
  } else if (origin.starts_with("http://")) {
    rest = origin.substr(7);
  } else {
    return false;
  }
  return !rest.empty() && std::all_of(rest.begin(), rest.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == ':' || c == '[' || c == ']';
  });
}

std::int32_t reply_partition_count() {
  const auto topics = messages::Topics::with_prefix("");
  for (const auto& spec : topics.specs()) {
    if (spec.name == topics.replies) return spec.partitions;
  }
  return 1;
}

}  // namespace

Result<IntakeConfig> IntakeConfig::from_env(config::EnvReader::Lookup lookup) {
  config::EnvReader env(std::move(lookup));
  IntakeConfig config;
  config.http_host = env.string("OTP_HTTP_HOST", config.http_host);
  config.http_port = static_cast<std::uint16_t>(env.integer("OTP_HTTP_PORT", 8080, 0, 65535));
  config.http_threads = static_cast<int>(env.integer("OTP_HTTP_THREADS", 2, 1, 64));
  config.max_body_bytes = static_cast<std::size_t>(
      env.integer("OTP_HTTP_MAX_BODY_BYTES", 16 * 1024, 1024, 1024 * 1024));
  config.read_timeout = env.millis("OTP_HTTP_READ_TIMEOUT_MS", milliseconds(10'000),
                                   milliseconds(100), milliseconds(300'000));
  config.reply_timeout = env.millis("OTP_REPLY_TIMEOUT_MS", milliseconds(3000), milliseconds(50),
                                    milliseconds(60'000));
  config.instance = static_cast<std::int32_t>(
      env.integer("OTP_INTAKE_INSTANCE", 0, 0, reply_partition_count() - 1));

  config.kafka = kafka::settings_from_env(env, "otp-intake");
  config.topic_prefix = env.string("OTP_TOPIC_PREFIX", config.topic_prefix);
  config.seal_keys = env.required_secret("OTP_SEAL_KEYS");
  if (!config.seal_keys.empty()) {
    if (auto ring = crypto::KeyRing::parse(config.seal_keys.reveal()); !ring) {
      env.reject("OTP_SEAL_KEYS", ring.error().message);
    }
  }

  config.dev_tenant = env.string("OTP_DEV_TENANT", config.dev_tenant);
  if (!is_tenant_id(config.dev_tenant)) {
    env.reject("OTP_DEV_TENANT", "must be 1 to 64 characters of [A-Za-z0-9._-]");
  }
  config.dev_api_key = env.required_string("OTP_DEV_API_KEY");
  config.dev_api_secret = env.required_secret("OTP_DEV_API_SECRET");
  config.log_level =
      env.choice("OTP_LOG_LEVEL", config.log_level, {"trace", "debug", "info", "warn", "error"});

  // --- auth: database keys and access tokens ---
  config.pg_url = env.secret("OTP_PG_URL");
  config.auth_refresh = env.millis("OTP_AUTH_REFRESH_MS", config.auth_refresh, milliseconds(100),
                                   milliseconds(60'000));
  config.jwt_keys = env.secret("OTP_JWT_KEYS");
  if (!config.jwt_keys.empty()) {
    if (auto ring = crypto::KeyRing::parse(config.jwt_keys.reveal()); !ring) {
      env.reject("OTP_JWT_KEYS", ring.error().message);
    }
  }
  config.jwt_ttl = std::chrono::seconds(env.integer("OTP_JWT_TTL_SECONDS", 900, 60, 86'400));

  // --- HTTP API (api): CORS ---
  const std::string origins = env.string("OTP_CORS_ORIGINS", "");
  for (std::size_t start = 0; start < origins.size();) {
    auto end = origins.find(',', start);
    if (end == std::string::npos) end = origins.size();
    std::string origin = origins.substr(start, end - start);
    origin.erase(0, origin.find_first_not_of(' '));
    origin.erase(origin.find_last_not_of(' ') + 1);
    if (!origin.empty()) {
      if (is_origin(origin)) {
        config.cors_origins.push_back(std::move(origin));
      } else {
        env.reject("OTP_CORS_ORIGINS",
                   "each origin must be http(s)://host[:port] without a path or trailing slash");
      }
    }
    start = end + 1;
  }

  // --- compat: seed routes and provider webhooks ---
  config.compat = compat::read_compat_config(env);
  config.webhooks = webhooks::read_webhook_config(env);

  // --- audit: management endpoints ---
  config.mgmt_threads = static_cast<int>(env.integer("OTP_MGMT_THREADS", 2, 1, 16));
  config.mgmt_statement_timeout = env.millis("OTP_MGMT_STATEMENT_TIMEOUT_MS", milliseconds(2000),
                                             milliseconds(100), milliseconds(60'000));
  config.hmac_keys = env.secret("OTP_HMAC_KEYS");
  if (!config.hmac_keys.empty()) {
    if (auto ring = crypto::KeyRing::parse(config.hmac_keys.reveal()); !ring) {
      env.reject("OTP_HMAC_KEYS", ring.error().message);
    }
  }

  if (auto done = env.finish(); !done) return tl::unexpected(done.error());
  return config;
}

kafka::KafkaSettings IntakeConfig::producer_settings() const {
  // linger.ms 5 instead of the shared producer's 2: at a few thousand sync sends per second the
  // batches grow from ~10 to ~25 records, and the intake's and the broker's CPU per request fall
  // with the number of produce requests (docs/performance.md, "HTTP sync path, fifth session").
  // compression.type none instead of the shared lz4: on the sync path lz4 about doubled the p99
  // at 5,000 req/s (docs/performance.md, "Compression on the sync path").
  return kafka::with_defaults(kafka, {{"message.timeout.ms", std::to_string(reply_timeout.count())},
                                      {"linger.ms", std::to_string(kRequestLingerMs)},
                                      {"compression.type", "none"}});
}

}  // namespace otp::intake
