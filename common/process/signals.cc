#include "common/process/signals.h"

#include <csignal>
#include <unistd.h>

namespace otp::process {
namespace {

std::atomic<bool>* g_stop = nullptr;  // only touched by the handler: async-signal-safe

extern "C" void on_stop_signal(int /*signal*/) {
  if (g_stop->exchange(true)) _exit(130);
}

}  // namespace

void stop_on_signals(std::atomic<bool>& stop) {
  g_stop = &stop;
  struct sigaction action {};
  action.sa_handler = &on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

}  // namespace otp::process
