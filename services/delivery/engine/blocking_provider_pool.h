#pragma once

#include "services/delivery/engine/async_provider.h"

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace otp::delivery {

/// A synchronous `Provider` (the dev outbox, SMTP) made asynchronous: `threads` worker threads,
/// each with its own provider instance from `make_provider` (so providers that are not
/// thread-safe are fine), take sends from one queue. Use it for providers that cannot go through
/// curl multi; HTTP providers use `HttpProviderAdapter`. Destruction answers the sends still queued
/// `kUnavailable` ("stopping") and joins the threads after their current send.
class BlockingProviderPool final : public AsyncProvider {
 public:
  BlockingProviderPool(const std::function<std::unique_ptr<Provider>()>& make_provider,
                       std::size_t threads);
  ~BlockingProviderPool() override;
  BlockingProviderPool(const BlockingProviderPool&) = delete;
  BlockingProviderPool& operator=(const BlockingProviderPool&) = delete;

  [[nodiscard]] std::string_view name() const override { return name_; }
  void send(const OutboundMessage& message, std::chrono::milliseconds time_left,
            SendCallback done) override;

 private:
  struct Task {
    OutboundMessage message;
    SendCallback done;
  };
  void work(Provider& provider);

  std::string name_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Task> queue_;  // guarded by mutex_
  bool stopping_ = false;   // guarded by mutex_
  std::vector<std::unique_ptr<Provider>> providers_;
  std::vector<std::thread> threads_;
};

}  // namespace otp::delivery
