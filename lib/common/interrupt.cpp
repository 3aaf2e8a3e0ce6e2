#include "common/interrupt.hpp"

#include <unistd.h>

#include <atomic>
#include <csignal>

namespace vitsweep {

namespace {

std::atomic<int> g_signal{0};

void on_signal(int signal) {
  if (g_signal.exchange(signal) != 0) {
    // Second request: the user means it.
    constexpr char kMessage[] = "\ninterrupted again: exiting now\n";
    [[maybe_unused]] const auto n = ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
    ::_exit(128 + signal);
  }
}

}  // namespace

void install_interrupt_handlers() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGUSR1, &action, nullptr);
}

bool interrupt_requested() { return g_signal.load() != 0; }

}  // namespace vitsweep
