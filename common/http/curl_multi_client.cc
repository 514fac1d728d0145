#include "common/http/curl_multi_client.h"

#include "common/http/curl_easy_setup.h"

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <vector>

namespace otp::http {
namespace {

struct Transfer {
  detail::Exchange exchange;
  ResponseCallback done;
  std::chrono::steady_clock::time_point started;
};

Error stopped_error(const HttpRequest& request) {
  return Error{Errc::kUnavailable,
               "http " + request.method + " " + url_origin(request.url) + ": client stopped"};
}

}  // namespace

AsyncHttpClient::~AsyncHttpClient() = default;

struct CurlMultiClient::Impl {
  explicit Impl(CurlMultiOptions options) : multi(curl_multi_init()) {
    if (multi == nullptr) throw std::runtime_error("curl_multi_init failed");
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, options.max_connections);
    if (options.max_host_connections > 0) {
      curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, options.max_host_connections);
    }
  }

  ~Impl() {
    for (auto& [easy, transfer] : active) {
      curl_multi_remove_handle(multi, easy);
      curl_easy_cleanup(easy);
    }
    for (CURL* easy : idle) curl_easy_cleanup(easy);
    curl_multi_cleanup(multi);
  }

  CURL* take_handle() {
    if (!idle.empty()) {
      CURL* easy = idle.back();
      idle.pop_back();
      return easy;
    }
    return curl_easy_init();
  }

  void finish(CURL* easy, Result<HttpResponse> outcome) {
    auto found = active.find(easy);
    if (found == active.end()) return;
    auto transfer = std::move(found->second);
    active.erase(found);
    curl_multi_remove_handle(multi, easy);
    detail::release_easy(easy);
    idle.push_back(easy);
    in_flight.fetch_sub(1);
    transfer->done(std::move(outcome));
  }

  void start(std::unique_ptr<Transfer> transfer) {
    CURL* easy = take_handle();
    if (easy == nullptr) {
      in_flight.fetch_sub(1);
      transfer->done(fail(Errc::kInternal, "http: curl_easy_init failed"));
      return;
    }
    if (auto prepared = detail::prepare_easy(easy, transfer->exchange); !prepared) {
      idle.push_back(easy);
      in_flight.fetch_sub(1);
      transfer->done(tl::unexpected(prepared.error()));
      return;
    }
    curl_easy_setopt(easy, CURLOPT_PRIVATE, transfer.get());
    // Provider replies are a few KiB: a small receive buffer keeps a thousand handles cheap
    // (libcurl's default is 16 KiB each).
    curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, 4096L);
    transfer->started = std::chrono::steady_clock::now();
    if (curl_multi_add_handle(multi, easy) != CURLM_OK) {
      detail::release_easy(easy);
      idle.push_back(easy);
      in_flight.fetch_sub(1);
      transfer->done(fail(Errc::kInternal, "http: curl_multi_add_handle failed"));
      return;
    }
    active.emplace(easy, std::move(transfer));
  }

  void collect_done() {
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(multi, &queued)) {
      if (message->msg != CURLMSG_DONE) continue;
      CURL* easy = message->easy_handle;
      const CURLcode code = message->data.result;
      auto found = active.find(easy);
      if (found == active.end()) continue;
      Transfer& transfer = *found->second;
      transfer.exchange.response.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - transfer.started);
      if (code != CURLE_OK) {
        finish(easy, tl::unexpected(detail::map_transport_error(
                         code, transfer.exchange.request, transfer.exchange.error_buffer.data())));
        continue;
      }
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &transfer.exchange.response.status);
      HttpResponse response = std::move(transfer.exchange.response);
      finish(easy, std::move(response));
    }
  }

  void run() {
    while (true) {
      std::deque<std::unique_ptr<Transfer>> incoming;
      bool stop = false;
      {
        std::lock_guard lock(mutex);
        incoming.swap(queue);
        stop = stopping;
      }
      if (stop) {
        for (auto& transfer : incoming) {
          in_flight.fetch_sub(1);
          transfer->done(tl::unexpected(stopped_error(transfer->exchange.request)));
        }
        std::vector<CURL*> running;
        for (auto& [easy, transfer] : active) running.push_back(easy);
        for (CURL* easy : running) {
          const auto& request = active.at(easy)->exchange.request;
          finish(easy, tl::unexpected(stopped_error(request)));
        }
        return;
      }
      for (auto& transfer : incoming) start(std::move(transfer));
      int still_running = 0;
      curl_multi_perform(multi, &still_running);
      collect_done();
      // Woken early by curl_multi_wakeup (a new request or stop); 1 s caps the idle wait.
      curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
    }
  }

  CURLM* multi;
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> active;  // loop thread only
  std::vector<CURL*> idle;                                      // loop thread only
  std::mutex mutex;
  std::deque<std::unique_ptr<Transfer>> queue;  // guarded by mutex
  bool stopping = false;                        // guarded by mutex
  std::atomic<std::size_t> in_flight{0};
  std::thread loop;
};

CurlMultiClient::CurlMultiClient(CurlMultiOptions options) {
  detail::ensure_curl_global_init();
  impl_ = std::make_unique<Impl>(options);
  impl_->loop = std::thread([impl = impl_.get()] { impl->run(); });
}

CurlMultiClient::~CurlMultiClient() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  curl_multi_wakeup(impl_->multi);
  impl_->loop.join();
}

void CurlMultiClient::submit(HttpRequest request, ResponseCallback done) {
  auto transfer = std::make_unique<Transfer>(Transfer{.exchange = {.request = std::move(request),
                                                                   .response = {},
                                                                   .headers = {},
                                                                   .error_buffer = {}},
                                                      .done = std::move(done),
                                                      .started = {}});
  impl_->in_flight.fetch_add(1);
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->stopping) {
      impl_->queue.push_back(std::move(transfer));
      transfer.reset();
    }
  }
  if (transfer) {
    impl_->in_flight.fetch_sub(1);
    transfer->done(tl::unexpected(stopped_error(transfer->exchange.request)));
    return;
  }
  curl_multi_wakeup(impl_->multi);
}

std::size_t CurlMultiClient::in_flight() const { return impl_->in_flight.load(); }

}  // namespace otp::http
