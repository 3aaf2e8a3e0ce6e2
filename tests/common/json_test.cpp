// The nesting limit every JSON reader applies before nlohmann's recursive dump(), copy and
// comparison can see a document (common/json.hpp).
#include <gtest/gtest.h>

#include <string>

#include "common/error.hpp"
#include "common/json.hpp"
#include "support/thrown.hpp"

namespace vitsweep {
namespace {

using testing::thrown_message;

// `depth` lists, one inside the other, around `inner`.
std::string nested_lists(size_t depth, const std::string& inner = "") {
  return std::string(depth, '[') + inner + std::string(depth, ']');
}

TEST(JsonNesting, TheLimitItselfIsAccepted) {
  const std::string text = nested_lists(kMaxJsonDepth);
  EXPECT_EQ(find_excess_nesting(text), std::nullopt);
  EXPECT_EQ(parse_json_strict(text, "a.json").dump(), text);
  EXPECT_EQ(parse_json_data(text, "a.json").dump(), text);
}

TEST(JsonNesting, OneLevelMoreIsRefusedAtItsBracket) {
  const std::string text = nested_lists(kMaxJsonDepth + 1);
  EXPECT_EQ(find_excess_nesting(text), kMaxJsonDepth) << "the 65th '[' is at byte 64";
  EXPECT_EQ(thrown_message<UsageError>([&] { parse_json_strict(text, "a.json"); }),
            "a.json:1:65: lists and objects nest deeper than 64 levels");
  // Data a program wrote (a checkpoint, a protocol line) is corrupt, not the user's typo.
  try {
    parse_json_data(text, "ck.safetensors");
    ADD_FAILURE() << "nothing thrown";
  } catch (const UsageError&) {
    ADD_FAILURE() << "a damaged file is an Error, not a UsageError";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "ck.safetensors:1:65: lists and objects nest deeper than 64 levels");
  }
}

TEST(JsonNesting, ObjectsAndListsCountAlikeAndLinesAreNamed) {
  // Level 1 is the outer '{'; each 7-byte `{"a": [` opens two more, so repetition 31 (from 0)
  // opens levels 64 and 65, the 65th with its '['.
  std::string text = "{\n";
  for (size_t i = 0; i < kMaxJsonDepth; ++i) text += R"({"a": [)";
  const size_t bracket_65 = 2 + 7 * 31 + 6;
  EXPECT_EQ(find_excess_nesting(text), bracket_65);
  EXPECT_EQ(thrown_message<UsageError>([&] { parse_json_strict(text, "b.json"); }),
            "b.json:2:224: lists and objects nest deeper than 64 levels");
}

TEST(JsonNesting, ClosedListsGiveTheirLevelsBack) {
  // 1000 siblings, each 64 deep: long, never deeper than the limit.
  std::string text = "[";
  for (int i = 0; i < 1000; ++i) {
    if (i > 0) text += ",";
    text += nested_lists(kMaxJsonDepth - 1);
  }
  text += "]";
  EXPECT_EQ(find_excess_nesting(text), std::nullopt);
}

TEST(JsonNesting, AHundredThousandLevelsAreRefusedBeforeAnythingRecurses) {
  // 200 KB; nlohmann parses it, but dump() or a copy of the result overflows the stack.
  const std::string text = nested_lists(100'000);
  EXPECT_EQ(thrown_message<UsageError>([&] { parse_json_strict(text, "deep.json"); }),
            "deep.json:1:65: lists and objects nest deeper than 64 levels");
  EXPECT_EQ(thrown_message([&] { parse_json_data(text, "deep.safetensors"); }),
            "deep.safetensors:1:65: lists and objects nest deeper than 64 levels");
  const std::string objects = std::string(100'000, '{') + "}";  // not even valid JSON
  EXPECT_EQ(find_excess_nesting(objects), kMaxJsonDepth);
}

TEST(JsonNesting, BracketsInsideStringsDoNotCount) {
  const std::string text = R"({"dtype": ")" + nested_lists(100'000) + R"("})";
  EXPECT_EQ(find_excess_nesting(text), std::nullopt);
  EXPECT_EQ(parse_json_strict(text, "a.json")["dtype"].get<std::string>().size(), 200'000u);
}

TEST(JsonNesting, EscapedQuotesDoNotEndAString) {
  // \" stays inside the string, so the brackets after it are text.
  const std::string quoted = R"(["a\")" + std::string(100, '[') + R"("])";
  EXPECT_EQ(find_excess_nesting(quoted), std::nullopt);
  EXPECT_EQ(parse_json_data(quoted, "a.json")[0].get<std::string>(), "a\"" + std::string(100, '['));
  // \\ is an escaped backslash: the quote after it ends the string, and the brackets count.
  const std::string backslash = R"(["a\\", )" + nested_lists(kMaxJsonDepth) + "]";
  EXPECT_EQ(find_excess_nesting(backslash), 8 + kMaxJsonDepth - 1);
}

TEST(JsonNesting, InvalidJsonWithinTheLimitIsStillASyntaxError) {
  EXPECT_TRUE(parse_json_data("[[1,]]", "a.json").is_discarded());
  EXPECT_TRUE(parse_json_data(nested_lists(10).substr(1), "a.json").is_discarded());
  EXPECT_EQ(thrown_message<UsageError>([] {
              parse_json_strict("[[1,]]", "a.json");
            }).rfind("a.json:1:5: ", 0),
            0u);
}

}  // namespace
}  // namespace vitsweep
