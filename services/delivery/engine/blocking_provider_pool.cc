#include "services/delivery/engine/blocking_provider_pool.h"

#include <stdexcept>

namespace otp::delivery {

BlockingProviderPool::BlockingProviderPool(
    const std::function<std::unique_ptr<Provider>()>& make_provider, std::size_t threads) {
  if (threads == 0) throw std::invalid_argument("provider pool: at least one thread");
  for (std::size_t i = 0; i < threads; ++i) providers_.push_back(make_provider());
  name_ = std::string(providers_.front()->name());
  for (auto& provider : providers_) {
    threads_.emplace_back([this, raw = provider.get()] { work(*raw); });
  }
}

BlockingProviderPool::~BlockingProviderPool() {
  std::deque<Task> left;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    left.swap(queue_);
  }
  ready_.notify_all();
  for (auto& thread : threads_) thread.join();
  for (auto& task : left) {
    task.done(fail(Errc::kUnavailable, name_ + " job " + task.message.job_id + ": stopping"));
  }
}

void BlockingProviderPool::send(const OutboundMessage& message,
                                std::chrono::milliseconds /*time_left*/, SendCallback done) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      queue_.push_back(Task{.message = message, .done = std::move(done)});
      ready_.notify_one();
      return;
    }
  }
  done(fail(Errc::kUnavailable, name_ + " job " + message.job_id + ": stopping"));
}

void BlockingProviderPool::work(Provider& provider) {
  while (true) {
    Task task;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task.done(provider.send(task.message));
  }
}

}  // namespace otp::delivery
