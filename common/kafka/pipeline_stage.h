#pragma once

#include "common/error/error.h"
#include "common/kafka/record.h"

#include <concepts>
#include <span>
#include <vector>

namespace otp::kafka {

/// A stream stage: pure logic that turns one consumed record into the records to produce.
/// `decode` failing with a non-retryable error parks the record in the dead-letter topic;
/// a retryable error from either step retries the same record. `handle` must be idempotent:
/// after a crash the same record is processed again.
template <class S>
concept PipelineStage = requires(S& stage, const Record& record, const typename S::Input& input) {
  { stage.decode(record) } -> std::same_as<Result<typename S::Input>>;
  { stage.handle(input) } -> std::same_as<Result<std::vector<OutboundRecord>>>;
};

/// A PipelineStage that can also handle several records at once (e.g. to share round trips to a
/// store between them): `handle_batch` returns one result per input, in order, each the same as
/// `handle` of that input after the inputs before it. The StageRunner uses it when
/// `RunnerOptions::max_batch` > 1.
template <class S>
concept BatchingPipelineStage = PipelineStage<S> &&
    requires(S& stage, std::span<const typename S::Input> inputs) {
  { stage.handle_batch(inputs) } -> std::same_as<std::vector<Result<std::vector<OutboundRecord>>>>;
};

/// A sink stage: decodes records and writes them in batches (e.g. one database transaction per
/// batch). Offsets are stored only after `write` succeeded, so `write` must be idempotent.
template <class S>
concept BatchStage = requires(S& stage, const Record& record,
                              std::span<const typename S::Input> batch) {
  { stage.decode(record) } -> std::same_as<Result<typename S::Input>>;
  { stage.write(batch) } -> std::same_as<Result<void>>;
};

}  // namespace otp::kafka
