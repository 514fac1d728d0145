#pragma once

#include "common/crypto/sealer.h"
#include "common/kafka/record.h"
#include "common/messages/messages.h"
#include "common/messages/topics.h"
#include "common/random/rng.h"
#include "common/time/clock.h"
#include "services/delivery/engine/retry_policy.h"
#include "services/delivery/providers/provider.h"
#include "services/delivery/templates/renderer.h"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace otp::delivery {

/// Kafka headers that ask for a delivery reply (CONTEXT "Delivery reply for seed 000"), copied by
/// the generator onto the job and by the delivery worker onto every retry and fallback job.
inline constexpr char kHeaderDeliveryCorrelationId[] = "delivery_correlation_id";

/// Renders a code into a message (services/delivery/templates `Renderer::render`).
using RenderFunction = std::function<Result<RenderedMessage>(const RenderInput&)>;

/// A consumed job together with the record it came from (headers for the reply and for derived
/// jobs, the source for the dead-letter record).
struct Delivery {
  messages::DeliveryJob job;
  kafka::Record record;
};

/// A message ready for a provider, and what the events say about it (never the body).
struct PreparedMessage {
  OutboundMessage message;
  int segments = 0;
  std::string encoding;
};

/// The pure decisions of delivery, one job at a time; the engine (services/delivery/engine) does
/// the I/O around them. Every decision returns the records that end the job's current step:
///
/// - `sent`: `delivery.sent` (+ the delivery reply).
/// - `failed` after a transient error (5xx, 429, timeout): `delivery.attempted` + the job again on
///   `otp.delivery.retry` with attempt+1 and `not_before` = now + backoff with jitter (or the
///   provider's Retry-After), as long as the retry fits before the deadline and the attempts
///   (`RetryPolicy::max_attempts`) are not used up.
/// - otherwise, and after a permanent refusal, the provider is added to `failed_providers`; if
///   another configured provider is left: `delivery.attempted` + the job on the retry topic due now
///   (failover); if not, the channel failed: `delivery.failed` + a new job for the first usable
///   channel of `fallback_channels` on that channel's topic (job id `<job id>.<channel>`), or, with
///   no fallback left, `delivery.failed` + the job on `otp.dlq` + the delivery reply.
/// - `expired`: past the deadline nothing is sent: `delivery.expired` (+ the reply).
///
/// Event ids: `delivery.attempted` from (tenant, job id, attempt, type); the terminal events
/// (`sent`, `failed`, `expired`) from (tenant, job id, type) only — a job ends once, and a crash
/// that replays an earlier attempt of it must not add a second terminal event.
///
/// Thread-compatible: const methods may run concurrently; `failed` draws jitter from the Rng.
class DeliveryStage {
 public:
  DeliveryStage(messages::Channel channel, std::vector<std::string> providers,
                const crypto::Sealer& sealer, const Clock& clock, Rng& rng, messages::Topics topics,
                RenderFunction render, RetryPolicy policy);

  /// The job in `record`; nullopt for a retry-topic job of another channel (not ours to do);
  /// kInvalidInput for a record that can never be delivered (dead-letter it as it is).
  [[nodiscard]] Result<std::optional<Delivery>> decode(const kafka::Record& record) const;

  [[nodiscard]] bool past_deadline(const Delivery& delivery) const;
  /// Unseals the code and renders the message. An error here is final for the job (`poisoned`).
  [[nodiscard]] Result<PreparedMessage> prepare(const Delivery& delivery) const;

  [[nodiscard]] std::vector<kafka::OutboundRecord> sent(const Delivery& delivery,
                                                        const ProviderReceipt& receipt,
                                                        const PreparedMessage& prepared) const;
  [[nodiscard]] std::vector<kafka::OutboundRecord> failed(const Delivery& delivery,
                                                          std::string_view provider,
                                                          const Error& error,
                                                          std::chrono::milliseconds latency);
  [[nodiscard]] std::vector<kafka::OutboundRecord> expired(const Delivery& delivery) const;
  /// No provider may be used now (every circuit open): the job again on the retry topic, due at
  /// `when`, same attempt (nothing was sent).
  [[nodiscard]] std::vector<kafka::OutboundRecord> deferred(const Delivery& delivery,
                                                            TimePoint when) const;
  /// The job can never be sent (its code does not unseal, its message cannot be rendered):
  /// `delivery.failed` + dead letter + reply, without trying other providers or channels.
  [[nodiscard]] std::vector<kafka::OutboundRecord> poisoned(const Delivery& delivery,
                                                            const Error& error) const;

  [[nodiscard]] const std::vector<std::string>& providers() const { return providers_; }

 private:
  std::vector<kafka::OutboundRecord> channel_failed(const Delivery& delivery,
                                                    messages::DeliveryJob job,
                                                    std::string_view provider,
                                                    const Error& error) const;
  kafka::OutboundRecord event(const messages::DeliveryJob& job, std::string type,
                              nlohmann::json data, bool per_attempt) const;
  kafka::OutboundRecord retry_record(const Delivery& delivery,
                                     const messages::DeliveryJob& job) const;
  std::optional<kafka::OutboundRecord> reply(const Delivery& delivery, messages::Outcome outcome,
                                             std::string provider, std::string message) const;
  kafka::OutboundRecord dead_letter(const Delivery& delivery, const messages::DeliveryJob& job,
                                    const Error& error) const;

  messages::Channel channel_;
  std::vector<std::string> providers_;
  const crypto::Sealer& sealer_;
  const Clock& clock_;
  Rng& rng_;
  messages::Topics topics_;
  RenderFunction render_;
  RetryPolicy policy_;
};

}  // namespace otp::delivery
