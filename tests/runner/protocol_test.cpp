// Worker output the runner cannot read as a protocol message is ignored (protocol.hpp: decode):
// it must never throw or crash the runner that reads it.
#include <gtest/gtest.h>

#include <string>

#include "runner/protocol.hpp"

namespace vitsweep::runner {
namespace {

std::string nested_lists(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(ProtocolDecode, WellFormedEventsDecode) {
  const auto end = decode(R"({"event":"end","outcome":{"status":"done","epochs":[{"epoch":1}]}})");
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->kind, TrialEvent::Kind::end);
  ASSERT_EQ(end->outcome.epochs.size(), 1u);
  EXPECT_EQ(end->outcome.epochs[0].epoch, 1);
}

TEST(ProtocolDecode, AnEpochSaysWhetherItIsReplayed) {
  EpochRecord record;
  record.epoch = 3;
  const auto live = decode(encode_epoch(record));
  const auto replayed = decode(encode_epoch(record, /*replayed=*/true));
  ASSERT_TRUE(live.has_value() && replayed.has_value());
  EXPECT_EQ(live->kind, TrialEvent::Kind::epoch);
  EXPECT_FALSE(live->replayed);
  EXPECT_TRUE(replayed->replayed);
  EXPECT_EQ(replayed->epoch.epoch, 3);
}

TEST(ProtocolDecode, DeepNestingIsNotAMessage) {
  // 200 KB lines nested 100,000 deep, alone and inside an otherwise valid event.
  const std::string deep = nested_lists(100'000);
  EXPECT_FALSE(decode(deep).has_value());
  EXPECT_FALSE(
      decode(R"({"event":"end","outcome":{"status":"done","epochs":[)" + deep + "]}}").has_value());
  // At the limit an event still decodes: the event and its outcome open 2 levels, "extra" 62.
  const std::string at_limit = R"({"event":"end","outcome":{"status":"done","extra":)" +
                               nested_lists(kMaxJsonDepth - 2) + "}}";
  EXPECT_TRUE(decode(at_limit).has_value());
}

TEST(ProtocolDecode, AnEventNameOfTheWrongTypeIsNotAMessage) {
  // nlohmann's type_error escaped decode() and ended the whole sweep as an internal error.
  EXPECT_FALSE(decode(R"({"event":1})").has_value());
  EXPECT_FALSE(decode(R"({"event":["end"]})").has_value());
}

}  // namespace
}  // namespace vitsweep::runner
