#pragma once

#include "common/error/error.h"
#include "common/http/curl_http_client.h"
#include "tests/support/subprocess.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace otp::test {

/// Starts a test server that prints `LISTENING <port>` on stdout once it accepts connections
/// (tests/support/fake_providers/fake_providers.py, tests/support/smtp_server.py). Returns the
/// process and the port, or an error naming `log_file` (where the server's output goes) when no
/// such line arrives within 15 s.
[[nodiscard]] inline Result<std::pair<Subprocess, int>> start_listening(
    std::vector<std::string> argv, const std::string& log_file) {
  auto process = Subprocess::start(std::move(argv), {}, log_file);
  if (!process) return tl::unexpected(process.error());
  const auto line = process->read_line(std::chrono::seconds(15));
  if (!line || !line->starts_with("LISTENING ")) {
    return fail(Errc::kUnavailable, "server did not start; see " + log_file);
  }
  const int port = std::stoi(line->substr(10));
  return std::make_pair(std::move(*process), port);
}

/// tests/support/fake_providers/fake_providers.py as a subprocess on a free loopback port: the
/// providers' real wire formats (Twilio, Vonage, Resend, Meta) at `base_url()`, and its control
/// API under `/_fake/` to read what it received and to change how it answers.
///
/// Owns the process: the destructor stops it (SIGTERM). Move-only; not thread-safe (one
/// `CurlHttpClient`). Link `otp::test_http`, which names the interpreter and the script.
///
///   auto fake = FakeProviders::start(log_dir / "fake_providers.log",
///                                    {"--account-sid", sid, "--auth-token", token});
///   ASSERT_TRUE(fake.has_value()) << fake.error().message;
///   fake->behave({{"statuses", {503}}});
class FakeProviders {
 public:
  /// `extra_args` go to fake_providers.py (credentials it accepts: `--account-sid`, ...); its
  /// output goes to `log_file`.
  [[nodiscard]] static Result<FakeProviders> start(const std::string& log_file,
                                                   std::vector<std::string> extra_args = {}) {
    std::vector<std::string> argv = {OTP_PYTHON3, OTP_FAKE_PROVIDERS_PY, "--port", "0"};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    auto started = start_listening(std::move(argv), log_file);
    if (!started) return tl::unexpected(started.error());
    return FakeProviders(std::move(started->first),
                         "http://127.0.0.1:" + std::to_string(started->second));
  }

  /// `http://127.0.0.1:<port>`, the base URL to configure a provider with.
  [[nodiscard]] const std::string& base_url() const { return base_url_; }
  /// The server process, for tests of the fake itself (signals, exit status).
  [[nodiscard]] Subprocess& process() { return process_; }

  /// A call to the control API: the JSON answer, or null unless it answered 200.
  nlohmann::json control(const std::string& method, const std::string& path,
                         const nlohmann::json& body = nullptr) {
    auto response = http_.send(http::HttpRequest{.method = method,
                                                 .url = base_url_ + path,
                                                 .headers = {{"Content-Type", "application/json"}},
                                                 .body = body.is_null() ? "" : body.dump(),
                                                 .timeout = std::chrono::seconds(5),
                                                 .basic_auth = std::nullopt});
    if (!response || response->status != 200) return nullptr;
    return nlohmann::json::parse(response->body);
  }
  /// Every request the fake received since the last reset, oldest first.
  nlohmann::json requests() { return control("GET", "/_fake/requests"); }
  /// Changes how the fake answers (statuses, latency, Retry-After; see fake_providers.py).
  void behave(const nlohmann::json& change) { control("POST", "/_fake/behaviour", change); }
  /// Forgets the recorded requests and the changed behaviour.
  void reset() {
    control("DELETE", "/_fake/requests");
    control("DELETE", "/_fake/behaviour");
  }

 private:
  FakeProviders(Subprocess process, std::string base_url)
      : process_(std::move(process)), base_url_(std::move(base_url)) {}

  Subprocess process_;
  std::string base_url_;
  http::CurlHttpClient http_;
};

}  // namespace otp::test
