// The message of the exception an action throws, for tests that assert on error text.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "common/error.hpp"

namespace vitsweep::testing {

// The what() of the ErrorType `action` throws; a test failure when it throws nothing.
template <typename ErrorType = Error, typename Action>
std::string thrown_message(Action&& action) {
  try {
    action();
  } catch (const ErrorType& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected an exception, nothing was thrown";
  return "";
}

}  // namespace vitsweep::testing
