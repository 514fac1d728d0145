#pragma once

#include "common/error/error.h"

#include <array>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <memory>
#include <mutex>
#include <optional>
#include <poll.h>
#include <signal.h>
#include <string>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

namespace otp::test {

/// A child process for integration and e2e tests: a fake provider server, a service binary.
///
/// `start` runs `argv` (argv[0] looked up in PATH if it has no '/') with the test's environment
/// plus `extra_env` (which overrides variables of the same name). The child's stderr goes to
/// `log_file` (appended; empty = inherit the test's stderr). Its stdout is read by a background
/// thread: each line is queued for `read_line` and also appended to `log_file`, so a chatty child
/// never blocks on a full pipe. The child gets SIGTERM if the test process dies (PDEATHSIG, tied to
/// the thread that called `start`: call it from the test's main thread).
///
/// The destructor calls `terminate()`. Move-only. Methods are not meant for concurrent use.
///
///   auto fake = Subprocess::start({"python3", script, "--port", "0"}, {}, "fake.log");
///   ASSERT_TRUE(fake.has_value()) << fake.error().message;
///   auto line = fake->read_line(5s);  // "LISTENING 41234"
class Subprocess {
 public:
  [[nodiscard]] static Result<Subprocess> start(
      std::vector<std::string> argv, std::vector<std::pair<std::string, std::string>> extra_env,
      std::string log_file) {
    if (argv.empty()) return fail(Errc::kInvalidInput, "subprocess: empty argv");
    auto state = std::make_unique<State>();

    int log_fd = -1;
    if (!log_file.empty()) {
      log_fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (log_fd < 0) return errno_failure("subprocess: cannot open log " + log_file);
    }
    state->log_fd = log_fd;

    std::array<int, 2> out_pipe{};
    std::array<int, 2> exec_pipe{};  // errno if execve fails; a successful exec closes it
    if (::pipe2(out_pipe.data(), O_CLOEXEC) != 0) return errno_failure("subprocess: pipe");
    if (::pipe2(exec_pipe.data(), O_CLOEXEC) != 0) {
      auto failure = errno_failure("subprocess: pipe");
      ::close(out_pipe[0]);
      ::close(out_pipe[1]);
      return failure;
    }

    // Everything the child needs is prepared here: between fork and exec only async-signal-safe
    // calls are allowed, because the test may already run other threads.
    const std::string program = resolve_program(argv.front());
    std::vector<char*> child_argv;
    for (auto& arg : argv) child_argv.push_back(arg.data());
    child_argv.push_back(nullptr);
    std::vector<std::string> env_strings = merged_environment(extra_env);
    std::vector<char*> child_env;
    for (auto& entry : env_strings) child_env.push_back(entry.data());
    child_env.push_back(nullptr);
    const pid_t parent = ::getpid();

    const pid_t pid = ::fork();
    if (pid < 0) {
      auto failure = errno_failure("subprocess: fork");
      for (int fd : {out_pipe[0], out_pipe[1], exec_pipe[0], exec_pipe[1]}) ::close(fd);
      return failure;
    }
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
      ::dup2(out_pipe[1], STDOUT_FILENO);
      if (log_fd >= 0) ::dup2(log_fd, STDERR_FILENO);
      ::execve(program.c_str(), child_argv.data(), child_env.data());
      const int exec_errno = errno;
      static_cast<void>(::write(exec_pipe[1], &exec_errno, sizeof exec_errno));
      ::_exit(127);
    }

    ::close(out_pipe[1]);
    ::close(exec_pipe[1]);
    int exec_errno = 0;
    ssize_t got = 0;
    do {
      got = ::read(exec_pipe[0], &exec_errno, sizeof exec_errno);
    } while (got < 0 && errno == EINTR);
    ::close(exec_pipe[0]);
    state->pid = pid;
    state->out_fd = out_pipe[0];
    if (got > 0) {
      int status = 0;
      ::waitpid(pid, &status, 0);
      state->pid = -1;
      return fail(Errc::kUnavailable,
                  "subprocess: cannot exec " + program + ": " + std::strerror(exec_errno));
    }
    State* raw = state.get();
    state->reader = std::thread([raw] { raw->drain_stdout(); });
    return Subprocess(std::move(state));
  }

  Subprocess(Subprocess&&) noexcept = default;
  Subprocess& operator=(Subprocess&& other) noexcept {
    if (this != &other) {
      terminate();
      state_ = std::move(other.state_);
    }
    return *this;
  }
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  ~Subprocess() { terminate(); }

  /// The next line the child wrote to stdout (without '\n'), or nullopt if none arrives within
  /// `timeout` or the child closed stdout.
  [[nodiscard]] std::optional<std::string> read_line(std::chrono::milliseconds timeout) {
    if (!state_) return std::nullopt;
    std::unique_lock lock(state_->mutex);
    state_->line_ready.wait_for(lock, timeout,
                                [this] { return !state_->lines.empty() || state_->eof; });
    if (state_->lines.empty()) return std::nullopt;
    std::string line = std::move(state_->lines.front());
    state_->lines.pop_front();
    return line;
  }

  /// SIGTERM, then up to `grace` for the child to exit, then SIGKILL. Idempotent.
  void terminate(std::chrono::milliseconds grace = std::chrono::seconds(5)) {
    if (!state_) return;
    if (running()) {
      ::kill(state_->pid, SIGTERM);
      const auto deadline = std::chrono::steady_clock::now() + grace;
      while (running() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    kill9();
  }

  /// SIGKILL and reap, for crash tests. Idempotent.
  void kill9() {
    if (!state_) return;
    if (running()) {
      ::kill(state_->pid, SIGKILL);
      reap(0);
    }
    state_->stop_reader();
  }

  /// Whether the child has not exited yet (reaps it if it has).
  [[nodiscard]] bool running() { return state_ && state_->pid > 0 && !reap(WNOHANG); }

  /// The child's pid while it runs, -1 after it was reaped.
  [[nodiscard]] pid_t pid() const { return state_ ? state_->pid : -1; }

  /// Once reaped: the exit code, or 128 + signal number if a signal ended it.
  [[nodiscard]] std::optional<int> exit_status() const {
    return state_ ? state_->exit_status : std::nullopt;
  }

 private:
  struct State {
    pid_t pid = -1;
    int out_fd = -1;
    int log_fd = -1;
    std::optional<int> exit_status;
    std::thread reader;
    bool stop = false;  // guarded by mutex
    std::mutex mutex;
    std::condition_variable line_ready;
    std::deque<std::string> lines;
    bool eof = false;

    State() = default;
    State(const State&) = delete;
    State& operator=(const State&) = delete;
    ~State() {
      stop_reader();
      if (log_fd >= 0) ::close(log_fd);
    }

    // Polls with a short timeout rather than blocking in read(): a grandchild that inherited
    // stdout could keep the pipe open after the child is gone.
    void drain_stdout() {
      std::string partial;
      std::array<char, 4096> buffer{};
      for (;;) {
        {
          const std::lock_guard lock(mutex);
          if (stop) break;
        }
        pollfd poll_fd{.fd = out_fd, .events = POLLIN, .revents = 0};
        const int ready = ::poll(&poll_fd, 1, 50);
        if (ready < 0 && errno != EINTR) break;
        if (ready <= 0) continue;
        const ssize_t got = ::read(out_fd, buffer.data(), buffer.size());
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        const auto size = static_cast<std::size_t>(got);
        if (log_fd >= 0) static_cast<void>(::write(log_fd, buffer.data(), size));
        partial.append(buffer.data(), size);
        const std::lock_guard lock(mutex);
        for (auto newline = partial.find('\n'); newline != std::string::npos;
             newline = partial.find('\n')) {
          lines.push_back(partial.substr(0, newline));
          partial.erase(0, newline + 1);
        }
        line_ready.notify_all();
      }
      const std::lock_guard lock(mutex);
      if (!partial.empty()) lines.push_back(std::move(partial));
      eof = true;
      line_ready.notify_all();
    }

    // Gives the reader a moment to collect what the child wrote before it exited, then stops it.
    void stop_reader() {
      if (reader.joinable()) {
        {
          std::unique_lock lock(mutex);
          line_ready.wait_for(lock, std::chrono::seconds(1), [this] { return eof; });
          stop = true;
        }
        reader.join();
      }
      if (out_fd >= 0) {
        ::close(out_fd);
        out_fd = -1;
      }
    }
  };

  explicit Subprocess(std::unique_ptr<State> state) : state_(std::move(state)) {}

  // True once the child has been reaped (now or earlier).
  bool reap(int options) {
    if (state_->pid <= 0) return true;
    int status = 0;
    const pid_t done = ::waitpid(state_->pid, &status, options);
    if (done == 0) return false;
    if (done == state_->pid) {
      state_->exit_status = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    }
    state_->pid = -1;  // reaped, or not our child any more (ECHILD)
    return true;
  }

  static tl::unexpected<Error> errno_failure(const std::string& what) {
    return fail(Errc::kUnavailable, what + ": " + std::strerror(errno));
  }

  static std::string resolve_program(const std::string& name) {
    if (name.find('/') != std::string::npos) return name;
    const char* path = ::getenv("PATH");
    std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= dirs.size()) {
      auto end = dirs.find(':', start);
      if (end == std::string::npos) end = dirs.size();
      std::string candidate = dirs.substr(start, end - start);
      candidate = (candidate.empty() ? "." : candidate) + "/" + name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
      start = end + 1;
    }
    return name;  // execve will report ENOENT
  }

  static std::vector<std::string> merged_environment(
      const std::vector<std::pair<std::string, std::string>>& extra_env) {
    std::vector<std::string> merged;
    for (char** entry = environ; *entry != nullptr; ++entry) {
      const std::string item = *entry;
      const std::string name = item.substr(0, item.find('='));
      bool overridden = false;
      for (const auto& [key, value] : extra_env) overridden = overridden || key == name;
      if (!overridden) merged.push_back(item);
    }
    for (const auto& [key, value] : extra_env) merged.push_back(key + "=" + value);
    return merged;
  }

  std::unique_ptr<State> state_;
};

}  // namespace otp::test
