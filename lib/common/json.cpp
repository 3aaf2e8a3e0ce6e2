#include "common/json.hpp"

#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "common/error.hpp"

namespace vitsweep {
namespace {

// Where the parser is, so a duplicate key can be reported with its full path.
struct Frame {
  bool is_object = false;
  std::set<std::string> keys;
  std::string path;
  size_t next_index = 0;
};

std::string strip_exception_prefix(const std::string& what) {
  // nlohmann messages start with "[json.exception.parse_error.101] parse error at line 1, ...: "
  // or "[json.exception.out_of_range.406] number overflow parsing '1e999'".
  const auto parse = what.find("parse error");
  if (parse != std::string::npos) {
    const auto colon = what.find(": ", parse);
    if (colon != std::string::npos) return what.substr(colon + 2);
  }
  const auto bracket = what.find("] ");
  return bracket == std::string::npos ? what : what.substr(bracket + 2);
}

void line_and_column(std::string_view text, size_t byte, size_t& line, size_t& column) {
  line = 1;
  column = 1;
  for (size_t i = 0; i + 1 < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
}

std::string too_deep_message(std::string_view text, size_t byte, std::string_view source) {
  size_t line = 0, column = 0;
  line_and_column(text, byte + 1, line, column);
  return fmt::format("{}:{}:{}: lists and objects nest deeper than {} levels", source, line, column,
                     kMaxJsonDepth);
}

}  // namespace

std::optional<size_t> find_excess_nesting(std::string_view text) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character, which may be a quote
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::nullopt;
}

void check_json_nesting(std::string_view text, std::string_view source) {
  if (const auto byte = find_excess_nesting(text)) {
    throw Error(too_deep_message(text, *byte, source));
  }
}

std::string json_path(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return fmt::format("{}.{}", parent, key);
}

std::string json_path(std::string_view parent, size_t index) {
  return fmt::format("{}[{}]", parent, index);
}

OrderedJson parse_json_strict(std::string_view text, std::string_view source) {
  if (const auto byte = find_excess_nesting(text)) {
    throw UsageError(too_deep_message(text, *byte, source));
  }
  std::vector<Frame> stack;
  std::string duplicate;
  std::string pending_key;
  auto child_path = [&]() -> std::string {
    if (stack.empty()) return "";
    Frame& top = stack.back();
    if (top.is_object) return json_path(top.path, pending_key);
    return json_path(top.path, top.next_index++);
  };
  auto callback = [&](int /*depth*/, nlohmann::json::parse_event_t event, OrderedJson& parsed) {
    using E = nlohmann::json::parse_event_t;
    switch (event) {
      case E::object_start:
      case E::array_start: {
        Frame frame;
        frame.is_object = event == E::object_start;
        frame.path = child_path();
        stack.push_back(std::move(frame));
        break;
      }
      case E::object_end:
      case E::array_end: stack.pop_back(); break;
      case E::key: {
        pending_key = parsed.get<std::string>();
        Frame& top = stack.back();
        if (!top.keys.insert(pending_key).second && duplicate.empty()) {
          duplicate = json_path(top.path, pending_key);
        }
        break;
      }
      case E::value:
        if (!stack.empty() && !stack.back().is_object) stack.back().next_index++;
        break;
    }
    return true;
  };
  OrderedJson result;
  try {
    result = OrderedJson::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/true,
                                /*ignore_comments=*/false);
  } catch (const nlohmann::json::parse_error& e) {
    size_t line = 0, column = 0;
    line_and_column(text, e.byte, line, column);
    fail_usage("{}:{}:{}: {}", source, line, column, strip_exception_prefix(e.what()));
  } catch (const nlohmann::json::exception& e) {
    // Errors without a position, e.g. a number too large for a double.
    fail_usage("{}: {}", source, strip_exception_prefix(e.what()));
  }
  if (!duplicate.empty()) fail_usage("{}: duplicate key '{}'", source, duplicate);
  return result;
}

OrderedJson read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open: {}", path, errno_text(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) fail("{}: read failed: {}", path, errno_text(errno));
  return parse_json_strict(buffer.str(), path);
}

template <typename JsonType>
std::string describe_json(const JsonType& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::object: return "an object";
    case nlohmann::json::value_t::array: return "a list";
    case nlohmann::json::value_t::null: return "null";
    default: {
      std::string text = value.dump();
      if (text.size() > 40) text = text.substr(0, 37) + "...";
      return text;
    }
  }
}

template std::string describe_json(const Json& value);
template std::string describe_json(const OrderedJson& value);

}  // namespace vitsweep
