// Per-operation cost of the generator's and delivery worker's crypto.

#include "common/crypto/code_generator.h"
#include "common/crypto/hmac.h"
#include "common/crypto/key_ring.h"
#include "common/crypto/sealer.h"
#include "common/random/rng.h"

#include <benchmark/benchmark.h>

namespace {

constexpr char kKeys[] = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
constexpr char kVid[] = "otp_0123456789abcdef0123456789abcdef";

void BM_GenerateCode(benchmark::State& state) {
  otp::OpenSslRng rng;
  otp::crypto::OtpCodeGenerator generator(rng);
  for (auto _ : state) benchmark::DoNotOptimize(generator.generate(6));
}
BENCHMARK(BM_GenerateCode);

void BM_CodeHmac(benchmark::State& state) {
  auto keys = *otp::crypto::KeyRing::parse(kKeys);
  for (auto _ : state) {
    benchmark::DoNotOptimize(otp::crypto::code_hmac(keys.active(), "acme", kVid, "428913"));
  }
}
BENCHMARK(BM_CodeHmac);

void BM_SealUnseal(benchmark::State& state) {
  auto keys = *otp::crypto::KeyRing::parse(kKeys);
  otp::OpenSslRng rng;
  otp::crypto::Sealer sealer(keys, rng);
  for (auto _ : state) {
    auto sealed = sealer.seal("428913", kVid);
    benchmark::DoNotOptimize(sealer.unseal(sealed, kVid));
  }
}
BENCHMARK(BM_SealUnseal);

}  // namespace
