#pragma once

#include "common/http/http_client.h"

#include <memory>

namespace otp::http {

/// `HttpClient` over one libcurl easy handle, reused across requests so that connections to the
/// same host stay alive (HTTP keep-alive, TLS session reuse).
///
/// NOT thread-safe: a handle serves one transfer at a time. Give each thread its own instance
/// (they are cheap); an instance may move between threads if the hand-over is synchronised.
/// Redirects are not followed: a provider API that redirects is misconfigured. Only http and https
/// are allowed. The process-wide `curl_global_init` runs once, on the first construction.
///
/// Issue 5 replaces this blocking client with one over libcurl's multi interface; callers depend
/// on `HttpClient` only, so that change stays behind the seam.
class CurlHttpClient final : public HttpClient {
 public:
  /// Throws `std::runtime_error` if libcurl cannot allocate a handle (start-up only).
  CurlHttpClient();
  ~CurlHttpClient() override;
  CurlHttpClient(CurlHttpClient&&) noexcept;
  CurlHttpClient& operator=(CurlHttpClient&&) noexcept;
  CurlHttpClient(const CurlHttpClient&) = delete;
  CurlHttpClient& operator=(const CurlHttpClient&) = delete;

  [[nodiscard]] Result<HttpResponse> send(const HttpRequest& request) override;

 private:
  class Handle;  // owns the CURL*; keeps libcurl out of this header
  std::unique_ptr<Handle> handle_;
};

}  // namespace otp::http
