#pragma once

#include "common/http/http_client.h"

#include <functional>

namespace otp::http {

/// Called exactly once per submitted request with its response or its transport failure (the
/// same errors as `HttpClient::send`). Runs on the client's own thread: keep it short and never
/// block in it (hand the result over to another thread and return).
using ResponseCallback = std::function<void(Result<HttpResponse> outcome)>;

/// The asynchronous seam: many requests in flight at once, each answered through its callback.
/// Implementations are thread-safe: `submit` may be called from any thread.
class AsyncHttpClient {
 public:
  virtual ~AsyncHttpClient();
  virtual void submit(HttpRequest request, ResponseCallback done) = 0;
};

}  // namespace otp::http
