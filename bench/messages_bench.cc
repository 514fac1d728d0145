// Encode/decode cost of the payloads every record goes through.

#include "common/messages/messages.h"

#include <benchmark/benchmark.h>

namespace {

otp::messages::SendRequested send_request() {
  return {.request_id = "5b0f7c1e-8a4d-4f7e-9d2a-0c1b2a3d4e5f",
          .tenant = "acme",
          .verification_id = "otp_0123456789abcdef0123456789abcdef",
          .recipient = "+14155552671",
          .channel = otp::messages::Channel::kSms,
          .locale = "en",
          .requested_at = otp::from_unix_ms(1'800'000'000'000)};
}

void BM_EncodeSendRequested(benchmark::State& state) {
  auto message = send_request();
  for (auto _ : state) benchmark::DoNotOptimize(otp::messages::encode(message));
}
BENCHMARK(BM_EncodeSendRequested);

void BM_DecodeSendRequested(benchmark::State& state) {
  auto payload = otp::messages::encode(send_request());
  for (auto _ : state) benchmark::DoNotOptimize(otp::messages::decode_send_requested(payload));
}
BENCHMARK(BM_DecodeSendRequested);

}  // namespace
