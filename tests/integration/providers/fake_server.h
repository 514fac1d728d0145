#pragma once

// Starts tests/support/fake_providers/fake_providers.py (or smtp_server.py) as a subprocess and
// talks to its control API. Shared by the provider integration tests.

#include "common/http/curl_http_client.h"
#include "tests/support/subprocess.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace otp::delivery::it {

using namespace std::chrono_literals;

/// `LISTENING <port>` from a freshly started server, or an error naming the log.
inline Result<std::pair<test::Subprocess, int>> start_listening(std::vector<std::string> argv,
                                                                const std::string& log) {
  auto process = test::Subprocess::start(std::move(argv), {}, log);
  if (!process) return tl::unexpected(process.error());
  const auto line = process->read_line(15s);
  if (!line || !line->starts_with("LISTENING ")) {
    return fail(Errc::kUnavailable, "server did not start; see " + log);
  }
  const int port = std::stoi(line->substr(10));
  return std::make_pair(std::move(*process), port);
}

class FakeProviders {
 public:
  static Result<FakeProviders> start(std::vector<std::string> extra_args = {}) {
    const auto log = (std::filesystem::path(OTP_TEST_LOG_DIR) / "fake_providers.log").string();
    std::vector<std::string> argv = {OTP_PYTHON3, OTP_FAKE_PROVIDERS_PY, "--port", "0"};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    auto started = start_listening(std::move(argv), log);
    if (!started) return tl::unexpected(started.error());
    return FakeProviders(std::move(started->first),
                         "http://127.0.0.1:" + std::to_string(started->second));
  }

  [[nodiscard]] const std::string& base_url() const { return base_url_; }

  nlohmann::json control(const std::string& method, const std::string& path,
                         const nlohmann::json& body = nullptr) {
    auto response = http_.send(http::HttpRequest{.method = method,
                                                 .url = base_url_ + path,
                                                 .headers = {{"Content-Type", "application/json"}},
                                                 .body = body.is_null() ? "" : body.dump(),
                                                 .timeout = 5s,
                                                 .basic_auth = std::nullopt});
    if (!response || response->status != 200) return nullptr;
    return nlohmann::json::parse(response->body);
  }
  nlohmann::json requests() { return control("GET", "/_fake/requests"); }
  void behave(const nlohmann::json& change) { control("POST", "/_fake/behaviour", change); }
  void reset() {
    control("DELETE", "/_fake/requests");
    control("DELETE", "/_fake/behaviour");
  }

 private:
  FakeProviders(test::Subprocess process, std::string base_url)
      : process_(std::move(process)), base_url_(std::move(base_url)) {}

  test::Subprocess process_;
  std::string base_url_;
  http::CurlHttpClient http_;
};

}  // namespace otp::delivery::it
