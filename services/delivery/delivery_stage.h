#pragma once

#include "common/crypto/sealer.h"
#include "common/kafka/record.h"
#include "common/messages/messages.h"
#include "common/messages/topics.h"
#include "common/time/clock.h"
#include "services/delivery/providers/provider.h"

#include <string>
#include <vector>

namespace otp::delivery {

/// Delivers one code: decode the job, refuse it past its deadline, unseal the code, render the
/// message, hand it to the provider, and report the outcome as a `delivery.*` event. A transient
/// provider failure is returned as a retryable error so the runner retries the same job (the
/// deadline is checked again on every try, so nothing is ever sent after expiry). A permanent
/// refusal ends the job with `delivery.failed`. Event ids derive from (job id, attempt, type), so
/// a redelivered job yields the same events and the audit trail keeps one of each.
///
/// Not thread-safe (one per consumer thread); holds its collaborators by reference.
class DeliveryStage {
 public:
  using Input = messages::DeliveryJob;

  DeliveryStage(messages::Channel channel, Provider& provider, const crypto::Sealer& sealer,
                const Clock& clock, messages::Topics topics, std::string brand);

  [[nodiscard]] Result<messages::DeliveryJob> decode(const kafka::Record& record) const;
  [[nodiscard]] Result<std::vector<kafka::OutboundRecord>> handle(const messages::DeliveryJob& job);

 private:
  kafka::OutboundRecord event(const messages::DeliveryJob& job, std::string type,
                              nlohmann::json data) const;

  messages::Channel channel_;
  Provider& provider_;
  const crypto::Sealer& sealer_;
  const Clock& clock_;
  messages::Topics topics_;
  std::string brand_;
};

}  // namespace otp::delivery
