#pragma once

#include "common/messages/messages.h"
#include "services/intake/http_message.h"
#include "services/intake/request_publisher.h"

#include <nlohmann/json.hpp>

#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace otp::intake::testing {

/// A RequestPublisher that keeps what it is given; the test decides when and how each request
/// ends (`answer`, `acknowledge`). Requests that wait for a reply (`publish`) and those that do
/// not (`publish_only`) are kept apart, so a test sees which path a handler took. Not
/// thread-safe: unit tests drive it from one thread.
class FakeRequestPublisher final : public RequestPublisher {
 public:
  struct Published {
    kafka::OutboundRecord record;
    ReplyCallback done;
  };
  struct PublishedOnly {
    kafka::OutboundRecord record;
    PublishCallback done;
  };

  void publish(kafka::OutboundRecord record, ReplyCallback done) override {
    published_.push_back({std::move(record), std::move(done)});
  }
  void publish_only(kafka::OutboundRecord record, PublishCallback done) override {
    published_only_.push_back({std::move(record), std::move(done)});
  }

  [[nodiscard]] const std::vector<Published>& published() const { return published_; }
  [[nodiscard]] const std::vector<PublishedOnly>& published_only() const { return published_only_; }

  /// Ends request `index` with `result`.
  void answer(std::size_t index, const ReplyResult& result) { published_.at(index).done(result); }
  /// Ends the `publish_only` request `index` with the broker's verdict.
  void acknowledge(std::size_t index, const Result<void>& result) {
    published_only_.at(index).done(result);
  }

 private:
  std::vector<Published> published_;
  std::vector<PublishedOnly> published_only_;
};

/// A ReplyReadiness the test sets.
class FakeReadiness final : public ReplyReadiness {
 public:
  [[nodiscard]] bool accepting_requests() const override { return accepting; }
  [[nodiscard]] std::optional<std::string> unready_reason() const override { return reason; }

  bool accepting = true;
  std::optional<std::string> reason;
};

/// Collects the responses given to the ResponseCallbacks it hands out.
class ResponseRecorder {
 public:
  [[nodiscard]] ResponseCallback callback() {
    return [this](HttpResponse response) {
      std::lock_guard lock(mutex_);
      responses_.push_back(std::move(response));
    };
  }
  [[nodiscard]] std::size_t count() const {
    std::lock_guard lock(mutex_);
    return responses_.size();
  }
  /// The only response; fails the test (via at()) when there is none.
  [[nodiscard]] HttpResponse only() const {
    std::lock_guard lock(mutex_);
    return responses_.at(0);
  }
  [[nodiscard]] nlohmann::json only_body() const { return nlohmann::json::parse(only().body); }

 private:
  mutable std::mutex mutex_;
  std::vector<HttpResponse> responses_;
};

/// A reply of `kind` for `tenant` with `outcome`; status follows the outcome.
inline messages::Reply make_reply(
    messages::RequestKind kind, messages::Outcome outcome, std::string tenant = "acme",
    std::string verification_id = "otp_0123456789abcdef0123456789abcdef") {
  messages::Reply reply;
  reply.correlation_id = "corr-1";
  reply.request_id = "req-1";
  reply.kind = kind;
  reply.tenant = std::move(tenant);
  reply.verification_id = std::move(verification_id);
  reply.outcome = outcome;
  reply.status = outcome == messages::Outcome::kApproved ? messages::Status::kApproved
                                                         : messages::Status::kPending;
  return reply;
}

}  // namespace otp::intake::testing
