#pragma once

// Internal to common/http: the libcurl option setup shared by the blocking and the multi client.

#include "common/http/http_client.h"

#include <curl/curl.h>

#include <array>
#include <memory>

namespace otp::http::detail {

/// Makes sure `curl_global_init` ran once in this process (thread-safe). Throws if it failed.
void ensure_curl_global_init();

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

/// Everything one transfer needs to outlive `curl_easy_perform` / the multi transfer: the request
/// (libcurl keeps pointers into its strings), the header list, the response being filled, and
/// the error buffer.
struct Exchange {
  HttpRequest request;
  HttpResponse response;
  Slist headers;
  std::array<char, CURL_ERROR_SIZE> error_buffer{};
};

/// Resets `curl` (keeping its connections) and sets every option for `exchange.request`; the
/// handle then writes into `exchange`. kInternal if the header list cannot be allocated.
[[nodiscard]] Result<void> prepare_easy(CURL* curl, Exchange& exchange);

/// Clears the options that point into `exchange` (error buffer, headers, password).
void release_easy(CURL* curl);

/// The one place where libcurl's transport codes become an Errc.
[[nodiscard]] Error map_transport_error(CURLcode code, const HttpRequest& request,
                                        const char* detail);

}  // namespace otp::http::detail
