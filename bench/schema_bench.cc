// JSON Schema validation of a consumed record (SchemaValidator::parse_valid, what
// ValidatingStage runs for every record the generator consumes): the compiled fast path against
// valijson alone, for a typical send and verify request as the intake publishes them.

#include "common/messages/messages.h"
#include "common/schema/schema_validator.h"

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <iostream>
#include <string>

namespace {

using namespace otp;
using namespace otp::messages;

const TimePoint kAt = from_unix_ms(1'800'000'000'000);

std::string send_request() {
  return encode(SendRequested{.request_id = "5b0f7c1e-8a4d-4f7e-9d2a-0c1b2a3d4e5f",
                              .tenant = "acme",
                              .verification_id = "otp_0123456789abcdef0123456789abcdef",
                              .recipient = "+14155552671",
                              .channel = Channel::kSms,
                              .locale = "en",
                              .requested_at = kAt});
}

std::string verify_request() {
  return encode(
      VerifyRequested{.request_id = "5b0f7c1e-8a4d-4f7e-9d2a-0c1b2a3d4e60",
                      .tenant = "acme",
                      .verification_id = "otp_0123456789abcdef0123456789abcdef",
                      .sealed_code = crypto::Sealed{"k1", "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83v"},
                      .otp_code = std::nullopt,
                      .requested_at = kAt,
                      .respond_by = kAt + std::chrono::seconds(3)});
}

const schema::SchemaValidator& validator(bool compiled) {
  auto load = [](bool compile) {
    auto loaded = schema::SchemaValidator::load(schema::kDefaultSchemaDir, {.compile = compile});
    if (!loaded) {
      std::cerr << loaded.error().message << "\n";
      std::abort();
    }
    return std::move(*loaded);
  };
  static const schema::SchemaValidator with_fast_path = load(true);
  static const schema::SchemaValidator valijson_only = load(false);
  return compiled ? with_fast_path : valijson_only;
}

void parse_valid(benchmark::State& state, const char* schema, const std::string& payload,
                 bool compiled) {
  const auto& schemas = validator(compiled);
  if (!schemas.parse_valid(schema, payload)) state.SkipWithError("payload is not valid");
  for (auto _ : state) benchmark::DoNotOptimize(schemas.parse_valid(schema, payload));
}

// The parse alone: what parse_valid costs without any validation.
void parse_only(benchmark::State& state, const std::string& payload) {
  for (auto _ : state) benchmark::DoNotOptimize(nlohmann::json::parse(payload));
}

void BM_SchemaParseOnly_SendRequest(benchmark::State& s) { parse_only(s, send_request()); }
void BM_SchemaParseValid_SendRequest_Valijson(benchmark::State& s) {
  parse_valid(s, "send-request.v1.json", send_request(), false);
}
void BM_SchemaParseValid_SendRequest_Compiled(benchmark::State& s) {
  parse_valid(s, "send-request.v1.json", send_request(), true);
}
void BM_SchemaParseOnly_VerifyRequest(benchmark::State& s) { parse_only(s, verify_request()); }
void BM_SchemaParseValid_VerifyRequest_Valijson(benchmark::State& s) {
  parse_valid(s, "verify-request.v1.json", verify_request(), false);
}
void BM_SchemaParseValid_VerifyRequest_Compiled(benchmark::State& s) {
  parse_valid(s, "verify-request.v1.json", verify_request(), true);
}

// A rejected record (bad tenant): the compiled check, then valijson for the message.
void BM_SchemaParseValid_RejectedVerifyRequest_Compiled(benchmark::State& state) {
  auto payload = nlohmann::json::parse(verify_request());
  payload["tenant"] = "not an id";
  const std::string text = payload.dump();
  const auto& schemas = validator(true);
  for (auto _ : state)
    benchmark::DoNotOptimize(schemas.parse_valid("verify-request.v1.json", text));
}

}  // namespace

BENCHMARK(BM_SchemaParseOnly_SendRequest);
BENCHMARK(BM_SchemaParseValid_SendRequest_Valijson);
BENCHMARK(BM_SchemaParseValid_SendRequest_Compiled);
BENCHMARK(BM_SchemaParseOnly_VerifyRequest);
BENCHMARK(BM_SchemaParseValid_VerifyRequest_Valijson);
BENCHMARK(BM_SchemaParseValid_VerifyRequest_Compiled);
BENCHMARK(BM_SchemaParseValid_RejectedVerifyRequest_Compiled);
