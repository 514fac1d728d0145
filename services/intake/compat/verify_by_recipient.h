#pragma once

#include "common/crypto/sealer.h"
#include "common/kafka/record.h"
#include "common/messages/topics.h"
#include "common/random/rng.h"
#include "common/time/clock.h"

#include <chrono>
#include <string>

namespace otp::intake::compat {

/// A verify request that names the recipient instead of the verification id: the generator
/// checks the recipient's most recent verification (docs/http-api.md, "Compatibility routes";
/// docs/kafka-api.md). The seed routes need it because their clients never see an id.
///
/// Payload: a VerifyRequested with `verification_id` "" and `recipient` set; the code sealed
/// with the recipient as additional authenticated data; key `tenant:recipient` (the order of
/// that recipient's sends). Pure apart from `rng` (ids) and `clock`.
[[nodiscard]] kafka::OutboundRecord verify_by_recipient_record(
    const messages::Topics& topics, const crypto::Sealer& sealer, Rng& rng, const Clock& clock,
    const std::string& tenant, const std::string& recipient, const std::string& code,
    std::chrono::milliseconds reply_timeout);

}  // namespace otp::intake::compat
