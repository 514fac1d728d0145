#include "services/delivery/engine/http_provider_adapter.h"

#include <algorithm>
#include <utility>

namespace otp::delivery {

HttpProviderAdapter::HttpProviderAdapter(std::shared_ptr<const HttpProvider> provider,
                                         std::shared_ptr<http::AsyncHttpClient> http)
    : provider_(std::move(provider)), http_(std::move(http)), name_(provider_->name()) {}

void HttpProviderAdapter::send(const OutboundMessage& message, std::chrono::milliseconds time_left,
                               SendCallback done) {
  auto request = provider_->build_request(message);
  if (!request) {
    done(tl::unexpected(with_job(request.error(), message.job_id)));
    return;
  }
  request->timeout = std::max(std::chrono::milliseconds(1), std::min(request->timeout, time_left));
  http_->submit(std::move(*request), [provider = provider_, job_id = message.job_id,
                                      done = std::move(done)](Result<http::HttpResponse> response) {
    if (!response) {
      done(tl::unexpected(with_job(response.error(), job_id)));
      return;
    }
    auto receipt = provider->interpret(*response, response->elapsed);
    if (!receipt) {
      done(tl::unexpected(with_job(receipt.error(), job_id)));
      return;
    }
    done(std::move(*receipt));
  });
}

}  // namespace otp::delivery
