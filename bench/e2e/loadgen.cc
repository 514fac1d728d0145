// otp-loadgen: end-to-end load against a running stack (bench/README.md, docs/performance.md).
//
// Drives complete OTP flows over HTTP: POST /otp/send -> the code reaches a fake SMS provider
// (embedded here, speaking Twilio's Messages API, with a configurable latency) -> POST
// /otp/verify with that code. Sends are open-loop: flow i is due at start + i/rate, and its
// latency counts from that due time, so a stalled server cannot hide its queueing (no
// coordinated omission). Prints one JSON document with throughput and latency percentiles.
//
// Point the stack's SMS worker at the embedded provider: OTP_SMS_PROVIDER=twilio,
// OTP_TWILIO_BASE_URL=http://127.0.0.1:<--provider-port>, any OTP_TWILIO_ACCOUNT_SID/AUTH_TOKEN,
// OTP_TWILIO_FROM. bench/run does all of this.

#include "services/intake/http_server.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <asio.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;
using nlohmann::json;

struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string api_key;
  std::string api_secret;
  std::string tenant = "dev";
  double rate = 1000;  ///< flows started per second
  double duration_s = 10;
  int connections = 64;  ///< send connections (as many again for verifies)
  double drain_s = 15;   ///< after the last send: time allowed for codes and verifies
  std::uint16_t provider_port = 0;
  int provider_latency_ms = 0;  ///< the fake provider answers after this long
  std::vector<std::pair<std::string, std::string>> extra_headers;
  std::uint64_t first_number = 0;  ///< offset into the recipient number space
  bool verify = true;
  std::string trace_path;  ///< --trace: one line per answered send, "due_ms latency_ms status"
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "otp-loadgen: %s\n"
               "usage: otp-loadgen --port P [--host H] [--rate FLOWS_PER_S] [--duration S]\n"
               "         [--connections N] [--drain S] [--provider-port P]\n"
               "         [--provider-latency-ms MS] [--tenant T] [--header 'Name: value']\n"
               "         [--first-number N] [--no-verify] [--trace FILE]\n"
               "environment: OTP_DEV_API_KEY, OTP_DEV_API_SECRET (the intake credentials)\n",
               why);
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view name = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage("missing value");
      return argv[++i];
    };
    if (name == "--host") {
      options.host = value();
    } else if (name == "--port") {
      options.port = static_cast<std::uint16_t>(std::stoi(value()));
    } else if (name == "--rate") {
      options.rate = std::stod(value());
    } else if (name == "--duration") {
      options.duration_s = std::stod(value());
    } else if (name == "--connections") {
      options.connections = std::stoi(value());
    } else if (name == "--drain") {
      options.drain_s = std::stod(value());
    } else if (name == "--provider-port") {
      options.provider_port = static_cast<std::uint16_t>(std::stoi(value()));
    } else if (name == "--provider-latency-ms") {
      options.provider_latency_ms = std::stoi(value());
    } else if (name == "--tenant") {
      options.tenant = value();
    } else if (name == "--first-number") {
      options.first_number = std::stoull(value());
    } else if (name == "--trace") {
      options.trace_path = value();
    } else if (name == "--no-verify") {
      options.verify = false;
    } else if (name == "--header") {
      auto header = value();
      auto colon = header.find(':');
      if (colon == std::string::npos) usage("--header needs 'Name: value'");
      auto header_value = header.substr(colon + 1);
      header_value.erase(0, header_value.find_first_not_of(' '));
      options.extra_headers.emplace_back(header.substr(0, colon), header_value);
    } else {
      usage("unknown option");
    }
  }
  if (options.port == 0) usage("--port is required");
  if (options.rate <= 0 || options.duration_s <= 0 || options.connections < 1) {
    usage("rate, duration and connections must be positive");
  }
  const char* key = std::getenv("OTP_DEV_API_KEY");
  const char* secret = std::getenv("OTP_DEV_API_SECRET");
  if (key == nullptr || secret == nullptr)
    usage("OTP_DEV_API_KEY and OTP_DEV_API_SECRET are needed");
  options.api_key = key;
  options.api_secret = secret;
  return options;
}

/// US numbers in area code 415 with exchanges 201-999 (skipping N11), lines 0000-9999: about
/// 7.9 million distinct destinations (the index wraps around), so the per-destination send limit
/// never applies within a run.
std::string recipient_for(std::uint64_t index) {
  static const std::vector<unsigned> exchanges = [] {
    std::vector<unsigned> out;
    for (unsigned exchange = 201; exchange <= 999; ++exchange) {
      if (exchange % 100 != 11) out.push_back(exchange);
    }
    return out;
  }();
  index %= exchanges.size() * 10'000ULL;
  char text[32];
  std::snprintf(text, sizeof text, "+1415%03u%04llu", exchanges[index / 10'000],
                static_cast<unsigned long long>(index % 10'000));
  return text;
}

/// Latencies in microseconds; percentiles by sorting at the end.
struct Series {
  std::vector<std::int64_t> values;
  void add(Clock::duration d) {
    values.push_back(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
  }
  json summary() {
    if (values.empty()) return json{{"count", 0}};
    std::sort(values.begin(), values.end());
    auto at = [&](double q) {
      auto index = static_cast<std::size_t>(q * static_cast<double>(values.size() - 1) + 0.5);
      return static_cast<double>(values[std::min(index, values.size() - 1)]) / 1000.0;
    };
    return json{{"count", values.size()}, {"p50_ms", at(0.50)},
                {"p90_ms", at(0.90)},     {"p99_ms", at(0.99)},
                {"p999_ms", at(0.999)},   {"max_ms", static_cast<double>(values.back()) / 1000.0}};
  }
};

/// One flow's progress. Touched only on the client's io thread.
struct Flow {
  Clock::time_point due{};
  std::string verification_id;
  std::string code;
  Clock::time_point provider_received{};
  bool verify_queued = false;
  float send_latency_ms = -1;  ///< for --trace
  int send_status = 0;
};

struct Stats {
  std::map<int, std::uint64_t> send_status;
  std::map<int, std::uint64_t> verify_status;
  std::map<std::string, std::uint64_t> verify_outcome;
  std::map<std::string, std::string> sample_errors;  ///< first body per refused send status
  std::uint64_t transport_errors = 0;
  std::uint64_t provider_messages = 0;
  std::uint64_t provider_unmatched = 0;
  Series send_latency;
  Series send_to_provider;
  Series verify_latency;
  Series flow_latency;  ///< due -> verify answered
  Clock::time_point last_send_done{};
};

/// A minimal HTTP/1.1 keep-alive client connection for our own intake's JSON replies.
class Connection {
 public:
  Connection(asio::any_io_executor executor, tcp::endpoint endpoint)
      : socket_(executor), endpoint_(endpoint) {}

  struct Response {
    int status = 0;
    std::string body;
  };

  /// nullopt on a transport error (the connection is reset and reopened on the next call).
  awaitable<std::optional<Response>> request(const std::string& wire) {
    try {
      if (!socket_.is_open()) {
        co_await socket_.async_connect(endpoint_, use_awaitable);
        socket_.set_option(tcp::no_delay(true));
      }
      co_await asio::async_write(socket_, asio::buffer(wire), use_awaitable);
      std::size_t header_end = co_await asio::async_read_until(
          socket_, asio::dynamic_buffer(buffer_), "\r\n\r\n", use_awaitable);
      Response response;
      std::string_view head(buffer_.data(), header_end);
      if (head.size() < 12) throw std::runtime_error("short status line");
      response.status = std::stoi(std::string(head.substr(9, 3)));
      std::size_t length = 0;
      bool close = false;
      std::size_t line_start = head.find("\r\n") + 2;
      while (line_start < head.size()) {
        auto line_end = head.find("\r\n", line_start);
        if (line_end == std::string_view::npos || line_end == line_start) break;
        auto line = head.substr(line_start, line_end - line_start);
        auto colon = line.find(':');
        if (colon != std::string_view::npos) {
          std::string name(line.substr(0, colon));
          std::transform(name.begin(), name.end(), name.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
          auto value = line.substr(colon + 1);
          while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
          if (name == "content-length") length = std::stoul(std::string(value));
          if (name == "connection" && value == "close") close = true;
        }
        line_start = line_end + 2;
      }
      if (buffer_.size() < header_end + length) {
        co_await asio::async_read(socket_, asio::dynamic_buffer(buffer_),
                                  asio::transfer_exactly(header_end + length - buffer_.size()),
                                  use_awaitable);
      }
      response.body = buffer_.substr(header_end, length);
      buffer_.erase(0, header_end + length);
      if (close) reset();
      co_return response;
    } catch (const std::exception&) {
      reset();
      co_return std::nullopt;
    }
  }

 private:
  void reset() {
    asio::error_code ignored;
    socket_.close(ignored);
    buffer_.clear();
  }

  tcp::socket socket_;
  tcp::endpoint endpoint_;
  std::string buffer_;
};

class LoadGenerator {
 public:
  explicit LoadGenerator(Options options)
      : options_(std::move(options)),
        endpoint_(asio::ip::make_address(options_.host), options_.port),
        total_(static_cast<std::uint64_t>(options_.rate * options_.duration_s)),
        flows_(total_) {}

  /// Called by the embedded provider (on its io threads) for every message it accepts.
  void on_provider_message(std::string to, std::string code, Clock::time_point received) {
    asio::post(io_, [this, to = std::move(to), code = std::move(code), received] {
      ++stats_.provider_messages;
      auto it = index_of_.find(to);
      if (it == index_of_.end()) {
        ++stats_.provider_unmatched;
        return;
      }
      Flow& flow = flows_[it->second];
      if (!flow.code.empty()) return;  // a duplicate delivery: the first one counts
      flow.code = code;
      flow.provider_received = received;
      stats_.send_to_provider.add(received - flow.due);
      maybe_queue_verify(it->second);
    });
  }

  json run() {
    started_ = Clock::now() + std::chrono::milliseconds(200);
    started_wall_ = std::chrono::system_clock::now() + std::chrono::milliseconds(200);
    for (std::uint64_t i = 0; i < total_; ++i) {
      flows_[i].due = started_ + std::chrono::nanoseconds(static_cast<std::int64_t>(
                                     static_cast<double>(i) * 1e9 / options_.rate));
      index_of_.emplace(recipient_for(options_.first_number + i), i);
    }
    for (int c = 0; c < options_.connections; ++c) {
      asio::co_spawn(io_, send_loop(c), asio::detached);
      if (options_.verify) asio::co_spawn(io_, verify_loop(), asio::detached);
    }
    std::thread stopper([this] {
      auto end =
          started_ + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(options_.duration_s + options_.drain_s));
      std::unique_lock lock(done_mutex_);
      done_cv_.wait_until(lock, end, [this] { return finished_; });
      io_.stop();
    });
    io_.run();
    {
      std::lock_guard lock(done_mutex_);
      finished_ = true;
    }
    done_cv_.notify_all();
    stopper.join();
    return report();
  }

 private:
  awaitable<void> send_loop(int connection_index) {
    Connection connection(co_await asio::this_coro::executor, endpoint_);
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (auto i = static_cast<std::uint64_t>(connection_index); i < total_;
         i += static_cast<std::uint64_t>(options_.connections)) {
      Flow& flow = flows_[i];
      if (Clock::now() < flow.due) {
        timer.expires_at(flow.due);
        co_await timer.async_wait(use_awaitable);
      }
      const std::string recipient = recipient_for(options_.first_number + i);
      json body = {{"appid", options_.tenant}, {"recipient", recipient}, {"channel", "sms"}};
      auto response = co_await connection.request(wire("/otp/send", body.dump()));
      const auto now = Clock::now();
      stats_.last_send_done = now;
      if (!response) {
        ++stats_.transport_errors;
        continue;
      }
      ++stats_.send_status[response->status];
      stats_.send_latency.add(now - flow.due);
      flow.send_latency_ms = std::chrono::duration<float, std::milli>(now - flow.due).count();
      flow.send_status = response->status;
      if (response->status >= 400 && stats_.sample_errors.size() < 8) {
        stats_.sample_errors.emplace(std::to_string(response->status),
                                     response->body.substr(0, 300));
      }
      if (response->status == 200 || response->status == 202) {
        auto parsed = json::parse(response->body, nullptr, false);
        if (parsed.is_object() && parsed.contains("verification_id") &&
            parsed["verification_id"].is_string()) {
          ++accepted_;
          flow.verification_id = parsed["verification_id"].get<std::string>();
          maybe_queue_verify(i);
        }
      }
    }
    ++send_loops_done_;
    finish_if_done();
  }

  /// Done when every send was answered and every accepted flow was verified.
  void finish_if_done() {
    if (send_loops_done_ != options_.connections) return;
    if (!options_.verify || verifies_done_ == accepted_) finish();
  }

  awaitable<void> verify_loop() {
    Connection connection(co_await asio::this_coro::executor, endpoint_);
    asio::steady_timer wake(co_await asio::this_coro::executor);
    for (;;) {
      while (verify_queue_.empty()) {
        wake.expires_at(Clock::time_point::max());
        idle_verifiers_.push_back(&wake);
        asio::error_code ignored;
        co_await wake.async_wait(asio::redirect_error(use_awaitable, ignored));
      }
      const std::uint64_t i = verify_queue_.front();
      verify_queue_.pop_front();
      Flow& flow = flows_[i];
      json body = {{"appid", options_.tenant},
                   {"verification_id", flow.verification_id},
                   {"otp_code", flow.code}};
      const auto started = Clock::now();
      auto response = co_await connection.request(wire("/otp/verify", body.dump()));
      const auto now = Clock::now();
      if (!response) {
        ++stats_.transport_errors;
      } else {
        ++stats_.verify_status[response->status];
        stats_.verify_latency.add(now - started);
        auto parsed = json::parse(response->body, nullptr, false);
        std::string outcome = "unparsed";
        if (parsed.is_object() && parsed.contains("status") && parsed["status"].is_string()) {
          outcome = parsed["status"].get<std::string>();
        } else if (parsed.is_object() && parsed.contains("error")) {
          outcome = parsed["error"].value("code", "error");
        }
        ++stats_.verify_outcome[outcome];
        if (response->status == 200) stats_.flow_latency.add(now - flow.due);
      }
      ++verifies_done_;
      finish_if_done();
    }
  }

  void maybe_queue_verify(std::uint64_t i) {
    Flow& flow = flows_[i];
    if (!options_.verify || flow.verify_queued || flow.code.empty() ||
        flow.verification_id.empty()) {
      return;
    }
    flow.verify_queued = true;
    verify_queue_.push_back(i);
    if (!idle_verifiers_.empty()) {
      idle_verifiers_.front()->cancel();
      idle_verifiers_.pop_front();
    }
  }

  void finish() {
    {
      std::lock_guard lock(done_mutex_);
      finished_ = true;
    }
    done_cv_.notify_all();
  }

  std::string wire(std::string_view path, const std::string& body) const {
    std::string request = "POST ";
    request.append(path).append(" HTTP/1.1\r\nHost: ").append(options_.host);
    request.append("\r\nContent-Type: application/json\r\nX-API-Key: ").append(options_.api_key);
    request.append("\r\nX-API-Secret: ").append(options_.api_secret);
    for (const auto& [name, value] : options_.extra_headers) {
      request.append("\r\n").append(name).append(": ").append(value);
    }
    request.append("\r\nContent-Length: ").append(std::to_string(body.size()));
    request.append("\r\n\r\n").append(body);
    return request;
  }

  /// --trace: when each answered send was due (ms after the start) and how long it took, so
  /// that a tail can be told apart as stalls (latencies bunched in time) or steady queueing.
  /// A first comment line gives the start on the wall clock (Unix ms), to line the stalls up
  /// with other processes' logs.
  void write_trace() const {
    if (options_.trace_path.empty()) return;
    std::FILE* out = std::fopen(options_.trace_path.c_str(), "w");
    if (out == nullptr) {
      std::fprintf(stderr, "otp-loadgen: cannot write %s\n", options_.trace_path.c_str());
      return;
    }
    std::fprintf(out, "# started_unix_ms %lld\n",
                 static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            started_wall_.time_since_epoch())
                                            .count()));
    for (const auto& flow : flows_) {
      if (flow.send_latency_ms < 0) continue;
      std::fprintf(out, "%.3f %.3f %d\n",
                   std::chrono::duration<double, std::milli>(flow.due - started_).count(),
                   flow.send_latency_ms, flow.send_status);
    }
    std::fclose(out);
  }

  json report() {
    write_trace();
    const double send_phase_s =
        std::chrono::duration<double>(stats_.last_send_done - started_).count();
    std::uint64_t accepted = 0;
    json send_status = json::object();
    for (auto [status, count] : stats_.send_status) {
      send_status[std::to_string(status)] = count;
      if (status == 200 || status == 202) accepted += count;
    }
    json verify_status = json::object();
    std::uint64_t approved = 0;
    for (auto [status, count] : stats_.verify_status) {
      verify_status[std::to_string(status)] = count;
      if (status == 200) approved += count;
    }
    return json{{"options",
                 {{"rate", options_.rate},
                  {"duration_s", options_.duration_s},
                  {"connections", options_.connections},
                  {"provider_latency_ms", options_.provider_latency_ms},
                  {"extra_headers", options_.extra_headers.size()}}},
                {"flows_planned", total_},
                {"sends",
                 {{"by_status", send_status},
                  {"accepted", accepted},
                  {"accepted_per_s", send_phase_s > 0 ? accepted / send_phase_s : 0.0},
                  {"latency", stats_.send_latency.summary()}}},
                {"provider",
                 {{"messages", stats_.provider_messages},
                  {"unmatched", stats_.provider_unmatched},
                  {"send_to_provider", stats_.send_to_provider.summary()}}},
                {"verifies",
                 {{"by_status", verify_status},
                  {"by_outcome", stats_.verify_outcome},
                  {"approved", approved},
                  {"latency", stats_.verify_latency.summary()}}},
                {"flows",
                 {{"completed", approved},
                  {"completed_per_s", send_phase_s > 0 ? approved / send_phase_s : 0.0},
                  {"due_to_verified", stats_.flow_latency.summary()}}},
                {"transport_errors", stats_.transport_errors},
                {"send_phase_s", send_phase_s}};
  }

  Options options_;
  asio::io_context io_{1};
  tcp::endpoint endpoint_;
  std::uint64_t total_;
  std::vector<Flow> flows_;
  std::unordered_map<std::string, std::uint64_t> index_of_;
  std::deque<std::uint64_t> verify_queue_;
  std::deque<asio::steady_timer*> idle_verifiers_;
  Stats stats_;
  Clock::time_point started_{};
  std::chrono::system_clock::time_point started_wall_{};  ///< started_ on the wall clock
  int send_loops_done_ = 0;
  std::uint64_t accepted_ = 0;
  std::uint64_t verifies_done_ = 0;
  std::mutex done_mutex_;
  std::condition_variable done_cv_;
  bool finished_ = false;
};

/// Percent-decodes one application/x-www-form-urlencoded value.
std::string form_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%' && i + 2 < text.size()) {
      out.push_back(static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::string form_field(std::string_view body, std::string_view name) {
  std::size_t start = 0;
  while (start <= body.size()) {
    auto end = body.find('&', start);
    if (end == std::string_view::npos) end = body.size();
    auto pair = body.substr(start, end - start);
    auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
      return form_decode(pair.substr(eq + 1));
    }
    start = end + 1;
  }
  return {};
}

/// The first run of 4-10 digits in the message: the code.
std::string code_in(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(text[i])) == 0) continue;
    std::size_t j = i;
    while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j])) != 0) ++j;
    if (j - i >= 4 && j - i <= 10) return std::string(text.substr(i, j - i));
    i = j;
  }
  return {};
}

/// Answers after the configured latency, from one timer thread.
class DelayedResponder {
 public:
  explicit DelayedResponder(std::chrono::milliseconds delay) : delay_(delay) {
    thread_ = std::thread([this] { run(); });
  }
  ~DelayedResponder() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  DelayedResponder(const DelayedResponder&) = delete;
  DelayedResponder& operator=(const DelayedResponder&) = delete;

  void respond(otp::intake::ResponseCallback callback, otp::intake::HttpResponse response) {
    if (delay_.count() == 0) {
      callback(std::move(response));
      return;
    }
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(Item{Clock::now() + delay_, std::move(callback), std::move(response)});
    }
    cv_.notify_one();
  }

 private:
  struct Item {
    Clock::time_point due;
    otp::intake::ResponseCallback callback;
    otp::intake::HttpResponse response;
  };

  void run() {
    std::unique_lock lock(mutex_);
    while (true) {
      if (queue_.empty()) {
        if (stopping_) return;
        cv_.wait(lock);
        continue;
      }
      // Constant delay: the queue is already in due order.
      auto due = queue_.front().due;
      if (Clock::now() < due) {
        cv_.wait_until(lock, due);
        continue;
      }
      Item item = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      item.callback(std::move(item.response));
      lock.lock();
    }
  }

  std::chrono::milliseconds delay_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

int main(int argc, char** argv) {
  Options options = parse_options(argc, argv);
  LoadGenerator generator(options);
  DelayedResponder responder(std::chrono::milliseconds(options.provider_latency_ms));
  std::atomic<std::uint64_t> sids{0};

  std::unique_ptr<otp::intake::HttpServer> provider;
  if (options.provider_port != 0) {
    otp::intake::HttpServerSettings settings;
    settings.host = "127.0.0.1";
    settings.port = options.provider_port;
    settings.threads = 1;
    settings.max_body_bytes = 64 * 1024;
    auto started = otp::intake::HttpServer::start(
        settings, [&](otp::intake::HttpRequest request, otp::intake::ResponseCallback respond) {
          const auto received = Clock::now();
          otp::intake::HttpResponse response;
          response.headers.emplace_back("Content-Type", "application/json");
          if (request.method != "POST" ||
              request.path.find("/Messages.json") == std::string::npos) {
            response.status = 404;
            response.body = R"({"code":20404,"message":"not found","status":404})";
            respond(std::move(response));
            return;
          }
          generator.on_provider_message(form_field(request.body, "To"),
                                        code_in(form_field(request.body, "Body")), received);
          char sid[40];
          std::snprintf(sid, sizeof sid, "SM%032llx",
                        static_cast<unsigned long long>(sids.fetch_add(1) + 1));
          response.status = 201;
          response.body = std::string(R"({"sid":")") + sid + R"(","status":"queued"})";
          responder.respond(std::move(respond), std::move(response));
        });
    if (!started) {
      std::fprintf(stderr, "otp-loadgen: provider: %s\n", started.error().message.c_str());
      return 1;
    }
    provider = std::move(*started);
  }

  json result = generator.run();
  if (provider) provider->stop();
  std::printf("%s\n", result.dump(2).c_str());
  return 0;
}
