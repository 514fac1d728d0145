#include "services/generator/code_store.h"

namespace otp::generator {

Result<CheckRequest> complete_check(const CheckByIdRequest& step, CodeLocation location) {
  for (const auto& [key_id, hmac] : step.candidates) {
    if (key_id != location.hmac_key_id) continue;
    CheckRequest check = step.check;
    check.location = std::move(location);
    check.candidate_hmac = hmac;
    return check;
  }
  // An operator dropped a key that still protects live codes: park the request, do not guess.
  return fail(Errc::kInternal, "verification " + step.verification_id + " needs hmac key '" +
                                   location.hmac_key_id + "', which is not in OTP_HMAC_KEYS");
}

std::vector<Result<BatchAnswer>> CodeStore::run_batch(std::span<const BatchStep> steps) {
  std::vector<Result<BatchAnswer>> answers;
  answers.reserve(steps.size());
  for (const auto& step : steps) {
    if (const auto* issue_request = std::get_if<IssueRequest>(&step)) {
      answers.push_back(
          issue(*issue_request).map([](IssuedCode code) -> BatchAnswer { return code; }));
      continue;
    }
    const auto& by_id = std::get<CheckByIdRequest>(step);
    auto location = lookup(by_id.tenant, by_id.verification_id);
    if (!location) {
      answers.push_back(tl::unexpected(location.error()));
      continue;
    }
    if (!*location) {
      answers.push_back(BatchAnswer{CheckedById{}});
      continue;
    }
    auto request = complete_check(by_id, **location);
    if (!request) {
      answers.push_back(tl::unexpected(request.error()));
      continue;
    }
    auto checked = check(*request);
    if (!checked) {
      answers.push_back(tl::unexpected(checked.error()));
      continue;
    }
    answers.push_back(
        BatchAnswer{CheckedById{.location = std::move(request->location), .result = *checked}});
  }
  return answers;
}

}  // namespace otp::generator
