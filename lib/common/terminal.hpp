// Progress for long work: a live line redrawn in place on a terminal, or a plain line every
// `interval` seconds when stderr is a file or pipe (logs stay readable, and work shorter than
// an interval leaves nothing in them).
#pragma once

#include <chrono>
#include <string>

namespace vitsweep {

bool stderr_is_terminal();

class ProgressLine {
 public:
  explicit ProgressLine(double interval_seconds = 10.0);
  ~ProgressLine();

  // Shows `text` (throttled: at most ~10 redraws a second on a terminal).
  void update(const std::string& text);
  // Removes the live line so ordinary output can follow.
  void clear();
  // Prints a permanent line to `stream` (stdout or stderr) without garbling the live line.
  void print(FILE* stream, const std::string& line);

 private:
  bool terminal_;
  double interval_;
  bool shown_ = false;
  std::string last_;
  std::chrono::steady_clock::time_point last_time_{};
};

}  // namespace vitsweep
