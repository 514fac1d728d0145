// Encode/decode cost of every payload a record goes through.

#include "common/messages/messages.h"

#include <benchmark/benchmark.h>

namespace {

using namespace otp::messages;

constexpr char kVid[] = "otp_0123456789abcdef0123456789abcdef";
const otp::TimePoint kAt = otp::from_unix_ms(1'800'000'000'000);

SendRequested send_request() {
  return {.request_id = "5b0f7c1e-8a4d-4f7e-9d2a-0c1b2a3d4e5f",
          .tenant = "acme",
          .verification_id = kVid,
          .recipient = "+14155552671",
          .channel = Channel::kSms,
          .locale = "en",
          .requested_at = kAt};
}

VerifyRequested verify_request() {
  return {.request_id = "5b0f7c1e-8a4d-4f7e-9d2a-0c1b2a3d4e60",
          .tenant = "acme",
          .verification_id = kVid,
          .sealed_code = otp::crypto::Sealed{"k1", "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83v"},
          .otp_code = std::nullopt,
          .requested_at = kAt,
          .respond_by = kAt + std::chrono::seconds(3)};
}

Reply reply() {
  Reply out;
  out.correlation_id = "c0ffee00-0000-4000-8000-000000000001";
  out.request_id = "5b0f7c1e-8a4d-4f7e-9d2a-0c1b2a3d4e5f";
  out.tenant = "acme";
  out.verification_id = kVid;
  out.attempts_remaining = 5;
  out.expires_at = kAt + std::chrono::minutes(10);
  out.channel = Channel::kSms;
  out.code_length = 6;
  return out;
}

DeliveryJob delivery_job() {
  return {.job_id = std::string(kVid) + ":1",
          .tenant = "acme",
          .verification_id = kVid,
          .channel = Channel::kSms,
          .recipient = "+14155552671",
          .sealed_code = otp::crypto::Sealed{"k1", "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83v"},
          .code_length = 6,
          .locale = "en",
          .expires_at = kAt + std::chrono::minutes(10),
          .deadline = kAt + std::chrono::minutes(9),
          .attempt = 0};
}

Event event() {
  return {.id = "5a1c0000-0000-5000-8000-000000000000",
          .type = "verification.created",
          .source = "otp-generator",
          .time = kAt,
          .tenant = "acme",
          .verification_id = kVid,
          .data = {{"channel", "sms"},
                   {"recipient_masked", "+141******71"},
                   {"code_length", 6},
                   {"max_attempts", 5}}};
}

template <class Message, class Make>
void encode_bench(benchmark::State& state, Make make) {
  Message message = make();
  for (auto _ : state) benchmark::DoNotOptimize(encode(message));
}

template <class Make, class Decode>
void decode_bench(benchmark::State& state, Make make, Decode decode) {
  auto payload = encode(make());
  for (auto _ : state) benchmark::DoNotOptimize(decode(payload));
}

void BM_EncodeSendRequested(benchmark::State& s) { encode_bench<SendRequested>(s, send_request); }
void BM_DecodeSendRequested(benchmark::State& s) {
  decode_bench(s, send_request, decode_send_requested);
}
void BM_EncodeVerifyRequested(benchmark::State& s) {
  encode_bench<VerifyRequested>(s, verify_request);
}
void BM_DecodeVerifyRequested(benchmark::State& s) {
  decode_bench(s, verify_request, decode_verify_requested);
}
void BM_EncodeReply(benchmark::State& s) { encode_bench<Reply>(s, reply); }
void BM_DecodeReply(benchmark::State& s) { decode_bench(s, reply, decode_reply); }
void BM_EncodeDeliveryJob(benchmark::State& s) { encode_bench<DeliveryJob>(s, delivery_job); }
void BM_DecodeDeliveryJob(benchmark::State& s) {
  decode_bench(s, delivery_job, decode_delivery_job);
}
void BM_EncodeEvent(benchmark::State& s) { encode_bench<Event>(s, event); }
void BM_DecodeEvent(benchmark::State& s) { decode_bench(s, event, decode_event); }

BENCHMARK(BM_EncodeSendRequested);
BENCHMARK(BM_DecodeSendRequested);
BENCHMARK(BM_EncodeVerifyRequested);
BENCHMARK(BM_DecodeVerifyRequested);
BENCHMARK(BM_EncodeReply);
BENCHMARK(BM_DecodeReply);
BENCHMARK(BM_EncodeDeliveryJob);
BENCHMARK(BM_DecodeDeliveryJob);
BENCHMARK(BM_EncodeEvent);
BENCHMARK(BM_DecodeEvent);

}  // namespace
