#pragma once

#include "common/crypto/code_generator.h"
#include "common/crypto/sealer.h"
#include "common/kafka/record.h"
#include "common/messages/messages.h"
#include "common/messages/topics.h"
#include "common/random/rng.h"
#include "common/time/clock.h"
#include "services/generator/code_store.h"
#include "services/generator/generator_config.h"
#include "services/generator/recipient_region.h"
#include "services/generator/tenant_settings.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace otp::generator {

/// Where to answer a request: from its `correlation_id` and `reply_partition` headers.
struct ReplyRoute {
  std::string correlation_id;
  std::int32_t partition = 0;
  bool operator==(const ReplyRoute&) const = default;
};

/// One decoded request. `reply_to` is empty when the publisher set no reply headers (upstream
/// Kafka publishers need not): then the stage produces events and jobs but no reply.
struct GeneratorInput {
  std::variant<messages::SendRequested, messages::VerifyRequested> request;
  std::optional<ReplyRoute> reply_to;
  /// Send requests with a `delivery_correlation_id` header: it and `reply_partition`, copied
  /// onto the delivery job so the delivery worker replies with the delivery outcome.
  std::vector<kafka::Header> job_headers{};
};

/// The generator's logic, as a PipelineStage for one StageRunner over `send-requests` and
/// `verify-requests`.
///
/// Send: find the tenant's rules (TenantSettingsSource; an unknown tenant, a channel the tenant
/// does not allow or a phone recipient in a country it does not allow is refused before any
/// code exists), derive the verification id if the request has none (from tenant + request id,
/// so a redelivery derives the same), draw a code (a test number's fixed code), store its HMAC
/// and sealed form through the CodeStore, and produce the delivery job (for a test number a
/// `delivery.skipped` event instead), a `verification.created` event and the reply. A
/// replayed request yields byte-identical records: every output field comes from the stored
/// verification or the request, and event ids are hashes of their cause.
///
/// Resend (`action` resend): the same checks as a send, then, under the tenant's resend policy,
/// a new code (policy new: the old one stops verifying, the TTL restarts) or the stored sealed
/// code (policy same) in a new delivery job `<verification id>:<n>`, a `verification.resent`
/// event and the reply; only while pending and after the tenant's resend cooldown
/// (`rate_limited` with retry_after_seconds otherwise). Cancel (`action` cancel): pending ->
/// canceled, a `verification.canceled` event and the reply. Both answer a replayed request id
/// with identical records.
///
/// Verify: refuse requests past their `respond_by` or older than `verify_max_age` without
/// touching the store (the caller has given up; the attempt must not be used), unseal the code,
/// look the verification up, and let the store count, compare and consume atomically; produce the
/// reply and lifecycle events.
///
/// Store failures are returned as kUnavailable, so the runner retries the record and nothing is
/// approved while Redis is unreachable (fail closed). The code never leaves this class except
/// sealed, and is never logged.
///
/// Holds its collaborators by reference; they must outlive it. Not thread-safe (one per
/// consumer thread, like the CodeStore).
class GeneratorStage {
 public:
  using Input = GeneratorInput;

  GeneratorStage(CodeStore& store, TenantSettingsSource& tenants, const GeneratorConfig& config,
                 Rng& rng, const Clock& clock);

  /// By `record.topic`: send-requests or verify-requests, plus the reply headers. Bad JSON, a
  /// wrong schema version, an unexpected topic or malformed reply headers are kInvalidInput (the
  /// runner dead-letters the record).
  [[nodiscard]] Result<GeneratorInput> decode(const kafka::Record& record) const;
  /// The same for a record whose value the caller already parsed (`schema::ValidatingStage`).
  [[nodiscard]] Result<GeneratorInput> decode(const kafka::Record& record,
                                              nlohmann::json&& document) const;
  [[nodiscard]] Result<std::vector<kafka::OutboundRecord>> handle(const GeneratorInput& input);
  /// `handle` for each input, in order, with the same outcomes as handling them one by one; one
  /// result per input. Consecutive sends and verifies by id reach the store as one batch
  /// (`CodeStore::run_batch`: two Redis round trips for the lot). Resend, cancel, status and
  /// verify by recipient make their own store calls, after the batch before them. After a
  /// retryable failure the inputs behind it are not started and fail with the same error.
  [[nodiscard]] std::vector<Result<std::vector<kafka::OutboundRecord>>> handle_batch(
      std::span<const GeneratorInput> inputs);

  [[nodiscard]] const messages::Topics& topics() const noexcept { return topics_; }

 private:
  /// `decode` of a record whose value is the payload text or its parsed document.
  template <class Value>
  Result<GeneratorInput> decode_value(const kafka::Record& record, Value&& value) const;
  using Outputs = std::vector<kafka::OutboundRecord>;

  /// A send or a verify by id that got as far as its store step, and what finishing it needs.
  struct Draft {
    BatchStep step;
    std::optional<ReplyRoute> reply_to{};
    messages::Reply answer{};  ///< the reply so far
    // Sends only:
    messages::SendRequested request{};
    std::vector<kafka::Header> job_headers{};
    std::optional<TenantSettings> settings{};
    bool test_number = false;
    PhoneFacts phone{};
    std::string recipient_hash{};
    // Verifies only:
    int failure_lock_threshold = 0;
  };
  /// Finished already (refused, or an action that needs no batch step), or waiting for its step.
  using Begun = std::variant<Outputs, Draft>;

  Result<Begun> begin_send(const messages::SendRequested& request,
                           const std::optional<ReplyRoute>& reply_to,
                           const std::vector<kafka::Header>& job_headers);
  Result<Outputs> finish_send(Draft& draft, const IssuedCode& stored);
  Result<Begun> begin_verify(const messages::VerifyRequested& request,
                             const std::optional<ReplyRoute>& reply_to);
  Result<Outputs> finish_verify(Draft& draft, const CheckedById& checked);
  Result<Outputs> finish(Draft& draft, Result<BatchAnswer> answer);
  Result<Outputs> handle_resend(const messages::SendRequested& request,
                                const std::optional<ReplyRoute>& reply_to,
                                const TenantSettings& settings, const std::string* test_code,
                                const CodeLocation& location,
                                const std::vector<kafka::Header>& job_headers);
  /// A verification named by id (cancel, status), and the recipient hash of the request's
  /// recipient under the verification's own key (empty without a recipient).
  struct Located {
    CodeLocation location;
    std::string recipient_hash{};
  };
  /// nullopt: no such verification for the tenant.
  Result<std::optional<Located>> locate(const messages::SendRequested& request);
  Result<Outputs> handle_cancel(const messages::SendRequested& request,
                                const std::optional<ReplyRoute>& reply_to);
  Result<Outputs> handle_status(const messages::SendRequested& request,
                                const std::optional<ReplyRoute>& reply_to);

  kafka::OutboundRecord event(const std::string& type, const std::string& tenant,
                              const std::string& verification_id, const std::string& request_id,
                              TimePoint time, nlohmann::json data) const;
  void reply(Outputs& outputs, const std::optional<ReplyRoute>& reply_to,
             messages::Reply message) const;

  CodeStore& store_;
  TenantSettingsSource& tenants_;
  const GeneratorConfig& config_;
  const Clock& clock_;
  crypto::OtpCodeGenerator codes_;
  crypto::Sealer sealer_;
  messages::Topics topics_;
};

}  // namespace otp::generator
