#pragma once

#include <nlohmann/json.hpp>

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

namespace otp::schema::testing {

/// valijson's verdict on `value`, configured as SchemaValidator configures it (draft 7, strong
/// types, collecting results): the reference the compiled fast path must equal.
inline bool valijson_accepts(const nlohmann::json& schema_document, const nlohmann::json& value) {
  valijson::Schema schema;
  valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
  valijson::adapters::NlohmannJsonAdapter schema_adapter(schema_document);
  parser.populateSchema(schema_adapter, schema);
  valijson::Validator validator(valijson::Validator::kStrongTypes);
  valijson::adapters::NlohmannJsonAdapter target(value);
  valijson::ValidationResults results;
  return validator.validate(schema, target, &results);
}

}  // namespace otp::schema::testing
