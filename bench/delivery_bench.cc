// Template rendering: what the delivery worker does for every message before calling a provider.

#include "services/delivery/message_renderer.h"

#include <benchmark/benchmark.h>

namespace {

void BM_RenderSms(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(otp::delivery::render_message(otp::messages::Channel::kSms, "Acme",
                                                           "428913", std::chrono::minutes(10)));
  }
}
BENCHMARK(BM_RenderSms);

void BM_RenderEmail(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(otp::delivery::render_message(otp::messages::Channel::kEmail, "Acme",
                                                           "428913", std::chrono::minutes(10)));
  }
}
BENCHMARK(BM_RenderEmail);

}  // namespace
