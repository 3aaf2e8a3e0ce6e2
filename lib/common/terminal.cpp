#include "common/terminal.hpp"

#include <unistd.h>

#include <cstdio>

namespace vitsweep {

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

ProgressLine::ProgressLine(double interval_seconds)
    : terminal_(stderr_is_terminal()),
      interval_(interval_seconds),
      // In a log, work shorter than one interval prints no progress at all.
      last_time_(std::chrono::steady_clock::now()) {}

ProgressLine::~ProgressLine() { clear(); }

void ProgressLine::update(const std::string& text) {
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_time_).count();
  last_ = text;
  if (terminal_) {
    if (shown_ && since < 0.1) return;
    std::fprintf(stderr, "\r\033[K%s", text.c_str());
    std::fflush(stderr);
    shown_ = true;
  } else {
    if (since < interval_) return;
    std::fprintf(stderr, "%s\n", text.c_str());
  }
  last_time_ = now;
}

void ProgressLine::clear() {
  if (terminal_ && shown_) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
  }
  shown_ = false;
}

void ProgressLine::print(FILE* stream, const std::string& line) {
  const bool redraw = terminal_ && shown_;
  clear();
  std::fprintf(stream, "%s\n", line.c_str());
  std::fflush(stream);
  if (redraw) {
    std::fprintf(stderr, "%s", last_.c_str());
    std::fflush(stderr);
    shown_ = true;
  }
}

}  // namespace vitsweep
