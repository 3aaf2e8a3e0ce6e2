// Errors carry their context (file, key, expected vs found) in the message; the CLI catches them
// once at the top and prints the message as a single line.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace vitsweep {

// A runtime failure the user can act on (missing file, corrupt data, locked database): exit 1.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad input from the user's command line, config or sweep file: exit 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

template <typename... Args>
[[noreturn]] void fail_usage(fmt::format_string<Args...> format, Args&&... args) {
  throw UsageError(fmt::format(format, std::forward<Args>(args)...));
}

// errno as text, for messages about files.
std::string errno_text(int err);

}  // namespace vitsweep
