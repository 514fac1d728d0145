#include "common/http/curl_easy_setup.h"

#include <stdexcept>
#include <string>

namespace otp::http::detail {
namespace {

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto& headers = *static_cast<HeaderList*>(user);
  const std::string_view line(data, size * count);
  // A new status line starts a new header block (after a 100 Continue): keep only the last.
  if (line.starts_with("HTTP/")) {
    headers.clear();
  } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
    headers.emplace_back(std::string(trim(line.substr(0, colon))),
                         std::string(trim(line.substr(colon + 1))));
  }
  return size * count;
}

}  // namespace

// libcurl wants curl_global_init before any other call and once per process. A function-local
// static gives a thread-safe "first use" without a public init call. There is deliberately no
// curl_global_cleanup: handles owned by other statics may outlive this object at exit.
void ensure_curl_global_init() {
  static const CURLcode kInitResult = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (kInitResult != CURLE_OK) {
    throw std::runtime_error(std::string("curl_global_init failed: ") +
                             curl_easy_strerror(kInitResult));
  }
}

Error map_transport_error(CURLcode code, const HttpRequest& request, const char* detail) {
  std::string message = "http " + request.method + " " + url_origin(request.url) + ": " +
                        curl_easy_strerror(code) + " (curl " + std::to_string(code) + ")";
  if (detail != nullptr && detail[0] != '\0') message += ": " + std::string(detail);
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return Error{Errc::kTimeout, std::move(message)};
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_UNKNOWN_OPTION:
      // The request could never be attempted: a configuration error or a bug, not an outage.
      return Error{Errc::kInternal, std::move(message)};
    default:
      return Error{Errc::kUnavailable, std::move(message)};
  }
}

Result<void> prepare_easy(CURL* curl, Exchange& exchange) {
  // Reset drops the previous request's options but keeps live connections and caches.
  curl_easy_reset(curl);
  const HttpRequest& request = exchange.request;

  auto add_header = [&exchange](const std::string& line) {
    curl_slist* extended = curl_slist_append(exchange.headers.get(), line.c_str());
    if (extended == nullptr) return false;
    static_cast<void>(exchange.headers.release());
    exchange.headers.reset(extended);
    return true;
  };
  for (const auto& [name, value] : request.headers) {
    std::string line = name;
    line.append(": ").append(value);
    if (!add_header(line)) return fail(Errc::kInternal, "http: out of memory");
  }
  // Without this libcurl waits for "100 Continue" before larger bodies: a wasted round trip.
  if (!add_header("Expect:")) return fail(Errc::kInternal, "http: out of memory");

  const auto timeout_ms = static_cast<long>(request.timeout.count());
  // Option setters only fail for unknown options or out-of-memory; the transfer would then
  // report the problem, so their results are not checked one by one.
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, exchange.error_buffer.data());
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM in a multi-threaded process
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, exchange.headers.get());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &exchange.response.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &exchange.response.headers);

  if (request.method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.c_str());
    if (request.method != "POST") {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
  }
  if (request.basic_auth) {
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(curl, CURLOPT_USERNAME, request.basic_auth->first.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, request.basic_auth->second.c_str());
  }
  return {};
}

void release_easy(CURL* curl) {
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(curl, CURLOPT_PASSWORD, "");
}

}  // namespace otp::http::detail
