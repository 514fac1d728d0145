// Phone number validation: the intake's normalize_phone_number (Parse "ZZ" + IsValidNumber +
// Format E164) and the generator's phone_facts (Parse + region of a valid number), through plain
// libphonenumber (the code they used before) and through otp::phone (common/phone/README.md).
// Every iteration takes the next of 4096 distinct numbers: no answer is ever cached.

#include "common/phone/numbering_plans.h"

#include <benchmark/benchmark.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

constexpr std::size_t kNumbers = 4096;

const PhoneNumberUtil& util() { return *PhoneNumberUtil::GetInstance(); }

// What bench/e2e/loadgen and bench/http send: +1 415 NXX XXXX.
std::vector<std::string> us_numbers() {
  std::vector<std::string> out;
  std::mt19937_64 rng(7);
  while (out.size() < kNumbers) {
    char text[32];
    std::snprintf(text, sizeof text, "+1415%03u%04u", static_cast<unsigned>(201 + rng() % 799),
                  static_cast<unsigned>(rng() % 10000));
    out.emplace_back(text);
  }
  return out;
}

// Mobile and fixed-line numbers of every region: libphonenumber's examples with their last three
// digits redrawn, kept when still valid.
std::vector<std::string> world_numbers() {
  std::vector<std::string> examples;
  std::set<std::string> regions;
  util().GetSupportedRegions(&regions);
  for (const auto& region : regions) {
    for (auto type : {PhoneNumberUtil::MOBILE, PhoneNumberUtil::FIXED_LINE}) {
      PhoneNumber number;
      std::string text;
      if (!util().GetExampleNumberForType(region, type, &number)) continue;
      util().Format(number, PhoneNumberUtil::E164, &text);
      examples.push_back(text);
    }
  }
  std::vector<std::string> out;
  std::mt19937_64 rng(11);
  while (out.size() < kNumbers) {
    std::string text = examples[rng() % examples.size()];
    for (std::size_t i = text.size() - 3; i < text.size(); ++i) {
      text[i] = static_cast<char>('0' + rng() % 10);
    }
    PhoneNumber number;
    if (util().Parse(text, "ZZ", &number) == PhoneNumberUtil::NO_PARSING_ERROR &&
        util().IsValidNumber(number)) {
      out.push_back(text);
    }
  }
  return out;
}

const std::vector<std::string>& numbers(std::int64_t set) {
  static const std::vector<std::string> us = us_numbers();
  static const std::vector<std::string> world = world_numbers();
  return set == 0 ? us : world;
}

void label(benchmark::State& state) { state.SetLabel(state.range(0) == 0 ? "us" : "world"); }

// The intake's code before otp::phone.
std::string libphonenumber_normalize(const std::string& text) {
  PhoneNumber number;
  if (util().Parse(text, "ZZ", &number) != PhoneNumberUtil::NO_PARSING_ERROR ||
      number.has_extension() || !util().IsValidNumber(number)) {
    return {};
  }
  std::string e164;
  util().Format(number, PhoneNumberUtil::E164, &e164);
  return e164;
}

// The generator's phone_facts before otp::phone (prefix and country).
std::string libphonenumber_facts(const std::string& text) {
  PhoneNumber number;
  if (util().Parse(text, "ZZ", &number) != PhoneNumberUtil::NO_PARSING_ERROR) return {};
  std::string national;
  util().GetNationalSignificantNumber(number, &national);
  std::string prefix(1, '+');
  prefix += std::to_string(number.country_code());
  prefix.append(national, 0, 3);
  std::string region;
  util().GetRegionCodeForNumber(number, &region);
  if (!util().IsValidNumberForRegion(number, region)) return prefix;
  return prefix + region;
}

std::string phone_facts(const std::string& text) {
  const auto& plans = otp::phone::NumberingPlans::shared();
  auto number = plans.parse(text);
  if (!number) return {};
  std::string prefix(1, '+');
  prefix += std::to_string(number->country_code);
  prefix.append(number->national_number, 0, 3);
  auto region = plans.valid_region(*number);
  if (!region) return prefix;
  return prefix + std::string(*region);
}

template <class Fn>
void run(benchmark::State& state, Fn fn) {
  const auto& texts = numbers(state.range(0));
  (void)otp::phone::NumberingPlans::shared();  // built before the clock starts
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(fn(texts[i]));
    i = (i + 1) % texts.size();
  }
  label(state);
}

void BM_PhoneNormalizeLibphonenumber(benchmark::State& state) {
  run(state, libphonenumber_normalize);
}
BENCHMARK(BM_PhoneNormalizeLibphonenumber)->Arg(0)->Arg(1);

void BM_PhoneNormalizeOtpPhone(benchmark::State& state) {
  run(state, [](const std::string& text) {
    return otp::phone::NumberingPlans::shared().normalize(text).value_or(std::string());
  });
}
BENCHMARK(BM_PhoneNormalizeOtpPhone)->Arg(0)->Arg(1);

void BM_PhoneFactsLibphonenumber(benchmark::State& state) { run(state, libphonenumber_facts); }
BENCHMARK(BM_PhoneFactsLibphonenumber)->Arg(0)->Arg(1);

void BM_PhoneFactsOtpPhone(benchmark::State& state) { run(state, phone_facts); }
BENCHMARK(BM_PhoneFactsOtpPhone)->Arg(0)->Arg(1);

// What a process pays once, on first use: compiling every calling code's patterns.
// Every calling code's automata, as the services build them at start-up (`compile_all`).
void BM_PhoneBuildNumberingPlans(benchmark::State& state) {
  for (auto _ : state) {
    otp::phone::NumberingPlans plans;
    plans.compile_all();
  }
}
BENCHMARK(BM_PhoneBuildNumberingPlans)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
