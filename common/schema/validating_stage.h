#pragma once

#include "common/error/error.h"
#include "common/kafka/pipeline_stage.h"
#include "common/kafka/record.h"
#include "common/schema/schema_validator.h"
#include "common/schema/topic_schemas.h"

#include <nlohmann/json.hpp>

#include <concepts>
#include <span>
#include <utility>
#include <vector>

namespace otp::schema {

/// A `PipelineStage` that checks each record's value against the JSON Schema registered for its
/// topic before the wrapped stage decodes it. A record that is not JSON, breaks its schema, or
/// comes from a topic without a registered schema fails `decode` with kInvalidInput, so the
/// `StageRunner` parks it in the dead-letter topic with the schema error as its `dlq_reason`
/// header and the partition moves on; the wrapped stage never sees it. Valid records go through
/// to the wrapped stage's `decode` unchanged, so its own (stricter) checks still apply. A stage
/// that also offers `decode(record, nlohmann::json&& document)` gets the document the validator
/// already parsed instead, so the payload is parsed once.
///
/// Holds references to the wrapped stage and the validator, which must outlive it; thread-safety
/// is the wrapped stage's (the validator is thread-safe). Wiring, in a service's `main.cc`:
///
///   auto schemas = schema::SchemaValidator::load(schema::schema_dir_from(env));
///   schema::ValidatingStage validating(stage, *schemas, schema::topic_schemas(topics));
///   kafka::StageRunner runner(validating, producer, options);
template <kafka::PipelineStage Stage>
class ValidatingStage {
 public:
  using Input = typename Stage::Input;

  ValidatingStage(Stage& stage, const SchemaValidator& validator, TopicSchemas topics)
      : stage_(stage), validator_(validator), topics_(std::move(topics)) {}

  Result<Input> decode(const kafka::Record& record) {
    auto schema = topics_.find(record.topic);
    if (schema == topics_.end()) {
      return fail(Errc::kInvalidInput, "no schema registered for topic " + record.topic);
    }
    if constexpr (requires(nlohmann::json document) {
                    { stage_.decode(record, std::move(document)) } -> std::same_as<Result<Input>>;
                  }) {
      auto document = validator_.parse_valid(schema->second, record.value);
      if (!document) return tl::unexpected(document.error());
      return stage_.decode(record, std::move(*document));
    } else {
      if (auto valid = validator_.validate(schema->second, record.value); !valid) {
        return tl::unexpected(valid.error());
      }
      return stage_.decode(record);
    }
  }

  Result<std::vector<kafka::OutboundRecord>> handle(const Input& input) {
    return stage_.handle(input);
  }

  std::vector<Result<std::vector<kafka::OutboundRecord>>> handle_batch(
      std::span<const Input> inputs) requires kafka::BatchingPipelineStage<Stage> {
    return stage_.handle_batch(inputs);
  }

 private:
  Stage& stage_;
  const SchemaValidator& validator_;
  TopicSchemas topics_;
};

}  // namespace otp::schema
