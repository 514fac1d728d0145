#pragma once

#include "common/http/async_http_client.h"
#include "services/delivery/engine/async_provider.h"

#include <memory>
#include <string>

namespace otp::delivery {

/// An `HttpProvider`'s pure halves over an `AsyncHttpClient` (curl multi): build the request,
/// submit it, interpret the response on the client's thread. Transport failures keep the
/// `HttpClient` classification (kTimeout, kUnavailable, kInternal); every error is prefixed with
/// the job id. Holds both by shared ownership; thread-safe as both halves are.
class HttpProviderAdapter final : public AsyncProvider {
 public:
  HttpProviderAdapter(std::shared_ptr<const HttpProvider> provider,
                      std::shared_ptr<http::AsyncHttpClient> http);

  [[nodiscard]] std::string_view name() const override { return name_; }
  void send(const OutboundMessage& message, std::chrono::milliseconds time_left,
            SendCallback done) override;

 private:
  std::shared_ptr<const HttpProvider> provider_;
  std::shared_ptr<http::AsyncHttpClient> http_;
  std::string name_;
};

}  // namespace otp::delivery
