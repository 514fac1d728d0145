#pragma once

#include "common/error/error.h"
#include "common/http/http_client.h"

#include <deque>
#include <string>
#include <utility>
#include <vector>

namespace otp::test {

/// A scripted `HttpClient`: records every request and answers from a queue of canned results
/// (responses or transport errors), in order. With the queue empty it answers `200 {}`.
/// Not thread-safe; one per test.
///
///   RecordingHttpClient http;
///   http.respond(201, R"({"sid":"SM..."})");
///   http.fail(Errc::kTimeout, "timed out");
///   ... code under test ...
///   EXPECT_EQ(http.requests().at(0).url, "...");
class RecordingHttpClient final : public http::HttpClient {
 public:
  /// Queues a response; `headers` are the response headers.
  void respond(long status, std::string body, http::HeaderList headers = {}) {
    http::HttpResponse response;
    response.status = status;
    response.body = std::move(body);
    response.headers = std::move(headers);
    respond(std::move(response));
  }

  /// Queues a complete response (e.g. with `elapsed` set).
  void respond(http::HttpResponse response) { replies_.emplace_back(std::move(response)); }

  /// Queues a transport failure.
  void fail(Errc code, std::string message) {
    replies_.emplace_back(tl::unexpected(Error{code, std::move(message)}));
  }

  [[nodiscard]] Result<http::HttpResponse> send(const http::HttpRequest& request) override {
    requests_.push_back(request);
    if (replies_.empty()) {
      http::HttpResponse ok;
      ok.status = 200;
      ok.body = "{}";
      return ok;
    }
    auto reply = std::move(replies_.front());
    replies_.pop_front();
    return reply;
  }

  [[nodiscard]] const std::vector<http::HttpRequest>& requests() const { return requests_; }

 private:
  std::deque<Result<http::HttpResponse>> replies_;
  std::vector<http::HttpRequest> requests_;
};

}  // namespace otp::test
