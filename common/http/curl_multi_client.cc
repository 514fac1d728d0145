#include "common/http/curl_multi_client.h"

#include "common/http/curl_easy_setup.h"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>
#include <vector>

namespace otp::http {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct Transfer {
  detail::Exchange exchange;
  ResponseCallback done;
  SteadyClock::time_point started;
};

Error stopped_error(const HttpRequest& request) {
  return Error{Errc::kUnavailable,
               "http " + request.method + " " + url_origin(request.url) + ": client stopped"};
}

/// Non-null `socketp` for libcurl: marks a socket already added to the epoll set.
char kRegistered = 0;

}  // namespace

AsyncHttpClient::~AsyncHttpClient() = default;

// The loop uses libcurl's event-driven API: libcurl tells us which sockets to watch
// (CURLMOPT_SOCKETFUNCTION) and when its next timeout is due (CURLMOPT_TIMERFUNCTION); epoll
// reports ready sockets and `curl_multi_socket_action` then touches only those transfers.
// `curl_multi_perform` + `curl_multi_poll` walked every transfer and every socket on each wakeup,
// which at hundreds in flight cost more CPU than the requests themselves.
struct CurlMultiClient::Impl {
  explicit Impl(CurlMultiOptions options) : multi(curl_multi_init()) {
    if (multi == nullptr) throw std::runtime_error("curl_multi_init failed");
    epoll = ::epoll_create1(EPOLL_CLOEXEC);
    wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (epoll < 0 || wake < 0) {
      const std::string reason = std::strerror(errno);
      close_fds();
      curl_multi_cleanup(multi);
      throw std::runtime_error("curl multi client: epoll/eventfd: " + reason);
    }
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = wake;
    if (::epoll_ctl(epoll, EPOLL_CTL_ADD, wake, &event) != 0) {
      const std::string reason = std::strerror(errno);
      close_fds();
      curl_multi_cleanup(multi);
      throw std::runtime_error("curl multi client: epoll_ctl: " + reason);
    }
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, options.max_connections);
    if (options.max_host_connections > 0) {
      curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, options.max_host_connections);
    }
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &Impl::on_socket);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &Impl::on_timer);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
  }

  ~Impl() {
    for (auto& [easy, transfer] : active) {
      curl_multi_remove_handle(multi, easy);
      curl_easy_cleanup(easy);
    }
    for (CURL* easy : idle) curl_easy_cleanup(easy);
    curl_multi_cleanup(multi);  // closes the cached connections (socket callbacks still run)
    close_fds();
  }

  void close_fds() {
    if (epoll >= 0) ::close(epoll);
    if (wake >= 0) ::close(wake);
    epoll = wake = -1;
  }

  static int on_socket(CURL* /*easy*/, curl_socket_t socket, int what, void* self, void* socketp) {
    auto& impl = *static_cast<Impl*>(self);
    if (what == CURL_POLL_REMOVE) {
      // The socket may be closed right after; a failing DEL (already gone) changes nothing.
      ::epoll_ctl(impl.epoll, EPOLL_CTL_DEL, socket, nullptr);
      return 0;
    }
    epoll_event event{};
    event.events = (what & CURL_POLL_IN ? EPOLLIN : 0U) | (what & CURL_POLL_OUT ? EPOLLOUT : 0U);
    event.data.fd = socket;
    if (socketp == nullptr) {
      if (::epoll_ctl(impl.epoll, EPOLL_CTL_ADD, socket, &event) != 0 && errno == EEXIST) {
        ::epoll_ctl(impl.epoll, EPOLL_CTL_MOD, socket, &event);
      }
      curl_multi_assign(impl.multi, socket, &kRegistered);
    } else if (::epoll_ctl(impl.epoll, EPOLL_CTL_MOD, socket, &event) != 0 && errno == ENOENT) {
      // A descriptor number reused by a new socket after libcurl closed the old one.
      ::epoll_ctl(impl.epoll, EPOLL_CTL_ADD, socket, &event);
    }
    return 0;
  }

  static int on_timer(CURLM* /*multi*/, long timeout_ms, void* self) {
    auto& impl = *static_cast<Impl*>(self);
    if (timeout_ms < 0) {
      impl.timer.reset();
    } else {
      impl.timer = SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
    }
    return 0;
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
    transfer->started = SteadyClock::now();
    // Adding a handle arms a 0 ms timer (on_timer): the loop starts it on its next turn.
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
          SteadyClock::now() - transfer.started);
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

  /// Answers everything queued and running with "client stopped".
  void stop_all(std::vector<std::unique_ptr<Transfer>>& incoming) {
    for (auto& transfer : incoming) {
      in_flight.fetch_sub(1);
      transfer->done(tl::unexpected(stopped_error(transfer->exchange.request)));
    }
    std::vector<CURL*> running;
    running.reserve(active.size());
    for (auto& [easy, transfer] : active) running.push_back(easy);
    for (CURL* easy : running) {
      const auto& request = active.at(easy)->exchange.request;
      finish(easy, tl::unexpected(stopped_error(request)));
    }
  }

  /// How long epoll may sleep: until libcurl's next timeout, at most 1 s (nothing is lost by
  /// waking up: submits and stop arrive through the eventfd).
  [[nodiscard]] int wait_ms() const {
    if (!timer) return 1000;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(*timer - SteadyClock::now());
    return static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, 1000));
  }

  void run() {
    std::vector<std::unique_ptr<Transfer>> incoming;
    std::array<epoll_event, 256> events{};
    int running_handles = 0;
    while (true) {
      incoming.clear();
      bool stop = false;
      {
        std::lock_guard lock(mutex);
        incoming.swap(queue);
        stop = stopping;
      }
      if (stop) {
        stop_all(incoming);
        return;
      }
      for (auto& transfer : incoming) start(std::move(transfer));

      const int ready = ::epoll_wait(epoll, events.data(), static_cast<int>(events.size()),
                                     incoming.empty() ? wait_ms() : 0);
      for (int i = 0; i < ready; ++i) {
        const int fd = events[static_cast<std::size_t>(i)].data.fd;
        const std::uint32_t flags = events[static_cast<std::size_t>(i)].events;
        if (fd == wake) {
          std::uint64_t count = 0;
          [[maybe_unused]] auto got = ::read(wake, &count, sizeof count);  // resets the counter
          continue;
        }
        int mask = 0;
        if (flags & EPOLLIN) mask |= CURL_CSELECT_IN;
        if (flags & EPOLLOUT) mask |= CURL_CSELECT_OUT;
        if (flags & (EPOLLERR | EPOLLHUP)) mask |= CURL_CSELECT_ERR;
        curl_multi_socket_action(multi, fd, mask, &running_handles);
      }
      if (timer && SteadyClock::now() >= *timer) {
        timer.reset();  // on_timer sets it again if libcurl still needs one
        curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running_handles);
      }
      collect_done();
    }
  }

  CURLM* multi;
  int epoll = -1;
  int wake = -1;                                                // eventfd: submit and stop
  std::optional<SteadyClock::time_point> timer;                 // loop thread only
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> active;  // loop thread only
  std::vector<CURL*> idle;                                      // loop thread only
  std::mutex mutex;
  std::vector<std::unique_ptr<Transfer>> queue;  // guarded by mutex
  bool stopping = false;                         // guarded by mutex
  std::atomic<std::size_t> in_flight{0};
  std::thread loop;

  void wake_up() const {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto written = ::write(wake, &one, sizeof one);  // EAGAIN: already awake
  }
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
  impl_->wake_up();
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
  bool first = false;
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->stopping) {
      // The loop takes the whole queue on every turn: only the first request of a batch has to
      // wake it (one eventfd write per burst, not per request).
      first = impl_->queue.empty();
      impl_->queue.push_back(std::move(transfer));
      transfer.reset();
    }
  }
  if (transfer) {
    impl_->in_flight.fetch_sub(1);
    transfer->done(tl::unexpected(stopped_error(transfer->exchange.request)));
    return;
  }
  if (first) impl_->wake_up();
}

std::size_t CurlMultiClient::in_flight() const { return impl_->in_flight.load(); }

}  // namespace otp::http
