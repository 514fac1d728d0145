#include "common/http/curl_http_client.h"

#include "common/http/curl_easy_setup.h"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <stdexcept>
#include <string>

namespace otp::http {

using detail::ensure_curl_global_init;

class CurlHttpClient::Handle {
 public:
  Handle() : curl_(curl_easy_init()) {
    if (curl_ == nullptr) throw std::runtime_error("curl_easy_init failed");
  }
  ~Handle() { curl_easy_cleanup(curl_); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  CURL* get() const { return curl_; }

 private:
  CURL* curl_;
};

CurlHttpClient::CurlHttpClient() {
  ensure_curl_global_init();
  handle_ = std::make_unique<Handle>();
}

CurlHttpClient::~CurlHttpClient() = default;
CurlHttpClient::CurlHttpClient(CurlHttpClient&&) noexcept = default;
CurlHttpClient& CurlHttpClient::operator=(CurlHttpClient&&) noexcept = default;

Result<HttpResponse> CurlHttpClient::send(const HttpRequest& request) {
  CURL* curl = handle_->get();
  detail::Exchange exchange{.request = request, .response = {}, .headers = {}, .error_buffer = {}};
  if (auto prepared = detail::prepare_easy(curl, exchange); !prepared) {
    return tl::unexpected(prepared.error());
  }
  const auto started = std::chrono::steady_clock::now();
  const CURLcode code = curl_easy_perform(curl);
  exchange.response.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  // The handle keeps pointers to these buffers until the next reset; clear the dangerous ones.
  detail::release_easy(curl);
  if (code != CURLE_OK) {
    return tl::unexpected(detail::map_transport_error(code, request, exchange.error_buffer.data()));
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &exchange.response.status);
  return std::move(exchange.response);
}

}  // namespace otp::http
