// Damaged and mismatched checkpoints: every defect is refused with a message naming the file and
// what is wrong, before anything is allocated from the file's claims.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "engine/checkpoint.hpp"
#include "engine/safetensors.hpp"
#include "support/process.hpp"
#include "support/thrown.hpp"

namespace vitsweep::engine {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using testing::thrown_message;

std::string header_file(const std::string& header, const std::string& data) {
  std::string bytes(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(bytes.data(), &n, 8);
  return bytes + header + data;
}

std::string parse_error(const std::string& bytes) {
  return thrown_message([&] {
    SafetensorsFile::parse(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
                           "ck.safetensors");
  });
}

TEST(SafetensorsFaults, GoodFileRoundTrips) {
  TempDir dir;
  SafetensorsWriter writer;
  const float values[3] = {1, 2, 3};
  const int64_t labels[2] = {7, -1};
  writer.add_f32("w", {3}, values);
  writer.add_i64("labels", {2}, labels);
  writer.set_metadata("k", "v");
  writer.write(dir.file("a.safetensors"));
  const SafetensorsFile file = SafetensorsFile::read(dir.file("a.safetensors"));
  EXPECT_EQ(file.f32("w"), (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(file.integers("labels"), (std::vector<int64_t>{7, -1}));
  EXPECT_EQ(file.metadata_value("k"), "v");
}

TEST(SafetensorsFaults, EachDefectIsNamed) {
  const std::string good_header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string data(8, '\0');
  struct Case {
    std::string bytes, expected;
  } cases[] = {
      {"abc", "expected at least 8"},
      {header_file(good_header, data).substr(0, 20), "header length"},
      {header_file("not json", data), "not a JSON object"},
      {header_file(R"({"w":{"dtype":"F99","shape":[2],"data_offsets":[0,8]}})", data),
       "unknown dtype"},
      {header_file(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data),
       "needs 12 bytes"},
      {header_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,80]}})", data),
       "outside the 8 bytes"},
      {header_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", data), "outside"},
      {header_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                   R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                   data),
       "overlaps"},
      {header_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", data),
       "unused bytes"},
      {header_file(good_header, data + "xx"), "after the last tensor"},
      {header_file(R"({"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}})",
                   data),
       "too large"},
      {header_file(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}})", data),
       "bad shape: dimension 0 is -1, expected an integer >= 0"},
  };
  for (const auto& c : cases)
    EXPECT_THAT(parse_error(c.bytes), HasSubstr(c.expected)) << c.expected;
  // A header length far beyond the file is refused before reading (no 2^62-byte allocation).
  std::string huge(16, '\0');
  const uint64_t n = uint64_t{1} << 62;
  std::memcpy(huge.data(), &n, 8);
  EXPECT_THAT(parse_error(huge), HasSubstr("goes beyond the file"));
}

// elements * dtype bytes must not wrap at 2^64 into the size data_offsets give.
TEST(SafetensorsFaults, ByteCountsPast2To64AreRefused) {
  auto i64 = [](const std::string& shape, const std::string& offsets, size_t data_bytes) {
    return header_file(
        R"({"w":{"dtype":"I64","shape":)" + shape + R"(,"data_offsets":)" + offsets + "}}",
        std::string(data_bytes, '\x01'));
  };
  // The largest shape the data holds is read; one element more is not.
  const std::string fits = i64("[2]", "[0,16]", 16);
  const auto file = SafetensorsFile::parse(
      std::span(reinterpret_cast<const uint8_t*>(fits.data()), fits.size()), "ck.safetensors");
  EXPECT_EQ(file.integers("w"), (std::vector<int64_t>{0x0101010101010101, 0x0101010101010101}));
  EXPECT_THAT(parse_error(i64("[3]", "[0,16]", 16)),
              HasSubstr("I64 [3] needs 24 bytes, data_offsets give 16"));
  // 2^61 - 1 elements: the largest I64 count whose byte count fits in 64 bits.
  EXPECT_THAT(parse_error(i64("[2305843009213693951]", "[0,8]", 8)),
              HasSubstr("needs 18446744073709551608 bytes, data_offsets give 8"));
  // 2^61 and 2^61 + 1 elements "need" 2^64 + 0 and 2^64 + 8 bytes, which wrap to 0 and 8.
  EXPECT_THAT(parse_error(i64("[2305843009213693952]", "[0,0]", 0)),
              HasSubstr("needs 2305843009213693952 x 8 bytes, data_offsets give 0"));
  EXPECT_THAT(parse_error(i64("[2305843009213693953]", "[0,8]", 8)),
              HasSubstr("ck.safetensors: tensor 'w': I64 [2305843009213693953] needs "
                        "2305843009213693953 x 8 bytes, data_offsets give 8"));
  // F32: the shape check allows up to 2^62 elements, which wrap to 0 bytes.
  const std::string f32_header =
      R"({"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}})";
  EXPECT_THAT(parse_error(header_file(f32_header, "")),
              HasSubstr("needs 4611686018427387904 x 4 bytes, data_offsets give 0"));
}

std::string nested_lists(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

// A 200 KB file whose dtype nests 100,000 deep.
std::string nested_dtype_file() {
  return header_file(
      R"({"w":{"dtype":)" + nested_lists(100'000) + R"(,"shape":[],"data_offsets":[0,0]}})", "");
}

// The bytes of a checkpoint without tensors whose metadata is valid but for `key`, set to `value`.
std::string checkpoint_bytes_with(const std::string& key, const std::string& value) {
  OrderedJson metadata = {{"format", "vitsweep.checkpoint.v1"},
                          {"config", "{}"},
                          {"normalization", R"({"mean": [0], "std": [1]})"},
                          {"epochs_done", "1"},
                          {"step", "1"},
                          {"history", "[]"}};
  metadata[key] = value;
  return header_file(OrderedJson{{"__metadata__", metadata}}.dump(), "");
}

SafetensorsFile checkpoint_metadata_with(const std::string& key, const std::string& value) {
  const std::string bytes = checkpoint_bytes_with(key, value);
  return SafetensorsFile::parse(
      std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), "ck.safetensors");
}

// nlohmann's dump() recursed 100,000 levels into an error message about this dtype.
TEST(SafetensorsFaults, DeeplyNestedHeaderIsRefused) {
  // The 63rd '[' after `{"w":{"dtype":` (14 bytes, 2 levels) opens level 65.
  EXPECT_EQ(parse_error(nested_dtype_file()),
            "ck.safetensors:1:77: lists and objects nest deeper than 64 levels");
  // A dtype that is merely wrong is described, not dumped.
  const std::string list_dtype = R"({"w":{"dtype":[["F32"]],"shape":[1],"data_offsets":[0,4]}})";
  EXPECT_THAT(parse_error(header_file(list_dtype, std::string(4, '\0'))),
              HasSubstr("tensor 'w': unknown dtype a list"));
}

// A checkpoint's config, normalization and history are JSON inside metadata strings, so the
// header's own check does not see their nesting.
TEST(CheckpointFaults, DeeplyNestedMetadataIsRefused) {
  for (const std::string key : {"config", "normalization", "history"}) {
    const SafetensorsFile file =
        checkpoint_metadata_with(key, R"({"a": )" + nested_lists(100'000) + "}");
    EXPECT_EQ(thrown_message([&] { read_checkpoint_info(file); }),
              "ck.safetensors: __metadata__." + key +
                  ":1:70: lists and objects nest deeper than 64 levels");
  }
}

// nlohmann's type_error for a record of the wrong type escaped as an "internal error".
TEST(CheckpointFaults, HistoryOfTheWrongShapeIsNamed) {
  for (const std::string history : {"[[1]]", R"([{"epoch": "one"}])"}) {
    const SafetensorsFile file = checkpoint_metadata_with("history", history);
    EXPECT_EQ(thrown_message([&] { read_checkpoint_info(file); }),
              "ck.safetensors: __metadata__.history: expected a list of epoch records");
  }
}

TEST(SafetensorsFaults, TruncatedFileOnDiskIsNamed) {
  TempDir dir;
  SafetensorsWriter writer;
  const std::vector<float> values(1000, 1.0f);
  writer.add_f32("w", {1000}, values.data());
  writer.write(dir.file("a.safetensors"));
  const std::string bytes = testing::read_file(dir.file("a.safetensors"));
  testing::write_file(dir.file("cut.safetensors"), bytes.substr(0, bytes.size() - 100));
  const std::string message =
      thrown_message([&] { SafetensorsFile::read(dir.file("cut.safetensors")); });
  EXPECT_THAT(message, HasSubstr(dir.file("cut.safetensors")));
  EXPECT_THAT(message, HasSubstr("outside the 3900 bytes of data"));
}

TEST(SafetensorsFaults, WrongDtypeOrShapeAgainstTheModelIsNamed) {
  TempDir dir;
  SafetensorsWriter writer;
  const float values[4] = {};
  writer.add_f32("head.bias", {4}, values);
  writer.write(dir.file("a.safetensors"));
  const SafetensorsFile file = SafetensorsFile::read(dir.file("a.safetensors"));
  float out[10];
  EXPECT_THAT(thrown_message([&] { file.copy_f32("head.bias", {10}, out); }),
              HasSubstr("tensor 'head.bias': expected shape [10], found [4]"));
  EXPECT_THAT(thrown_message([&] { file.integers("head.bias"); }),
              HasSubstr("expected dtype I64 or I32, found F32"));
}

// A file of one tensor "w" of `dtype`, [count], from raw little-endian bytes.
SafetensorsFile one_tensor_file(const std::string& dtype, const std::string& data, int64_t count) {
  const std::string bytes =
      header_file(fmt::format(R"({{"w":{{"dtype":"{}","shape":[{}],"data_offsets":[0,{}]}}}})",
                              dtype, count, data.size()),
                  data);
  return SafetensorsFile::parse(
      std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), "w.safetensors");
}

template <typename T>
std::string raw_bytes(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

std::vector<float> as_f32(const SafetensorsFile& file, int64_t count) {
  std::vector<float> out(static_cast<size_t>(count));
  file.copy_as_f32("w", {count}, out.data());
  return out;
}

TEST(SafetensorsFaults, HalfAndBfloat16ConvertExactlyIncludingSubnormalsAndInfinities) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<uint16_t> half = {0x3C00, 0xC000, 0x0001, 0x03FF, 0x0400,
                                      0x7BFF, 0x8000, 0x7C00, 0xFC00, 0x3555};
  const std::vector<float> half_values = {1.0f,
                                          -2.0f,
                                          std::ldexp(1.0f, -24),
                                          std::ldexp(1023.0f, -24),
                                          std::ldexp(1.0f, -14),
                                          65504.0f,
                                          -0.0f,
                                          inf,
                                          -inf,
                                          0x1.554p-2f};
  const auto got = as_f32(one_tensor_file("F16", raw_bytes(half), 10), 10);
  for (size_t i = 0; i < half.size(); ++i) {
    EXPECT_EQ(got[i], half_values[i]) << std::hex << half[i];
    EXPECT_EQ(std::signbit(got[i]), std::signbit(half_values[i])) << std::hex << half[i];
  }
  EXPECT_TRUE(std::isnan(
      as_f32(one_tensor_file("F16", raw_bytes(std::vector<uint16_t>{0x7E00}), 1), 1)[0]));
  const std::vector<uint16_t> bf16 = {0x3F80, 0xC040, 0x0001, 0x7F80, 0x3EAB};
  const std::vector<float> bf16_values = {1.0f, -3.0f, std::ldexp(1.0f, -133), inf, 0x1.56p-2f};
  EXPECT_EQ(as_f32(one_tensor_file("BF16", raw_bytes(bf16), 5), 5), bf16_values);
}

TEST(SafetensorsFaults, F64RoundsToNearestAndRefusesWhatF32CannotHold) {
  const std::vector<double> values = {0.1, -1e-30, 3.0e38, 1.0 / 3.0};
  const auto got = as_f32(one_tensor_file("F64", raw_bytes(values), 4), 4);
  for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(got[i], static_cast<float>(values[i]));
  EXPECT_THAT(
      thrown_message([] {
        as_f32(one_tensor_file("F64", raw_bytes(std::vector<double>{1, -1e39}), 2), 2);
      }),
      HasSubstr(
          "w.safetensors: tensor 'w': F64 value -1e+39 at index 1 is beyond the range of F32"));
  EXPECT_THAT(thrown_message(
                  [] { as_f32(one_tensor_file("I64", raw_bytes(std::vector<int64_t>{1}), 1), 1); }),
              HasSubstr("tensor 'w': expected a float dtype (F32, F64, F16 or BF16), found I64"));
  EXPECT_THAT(thrown_message([] {
                as_f32(one_tensor_file("F16", raw_bytes(std::vector<uint16_t>{1, 2}), 2), 1);
              }),
              HasSubstr("tensor 'w': expected shape [1], found [2]"));
}

// Through the program, a 100,000-deep header or config ended in SIGSEGV.
TEST(CheckpointFaultsCli, DeeplyNestedCheckpointsExitWithOneLine) {
  TempDir dir;
  testing::write_file(dir.file("dtype.safetensors"), nested_dtype_file());
  testing::write_file(dir.file("config.safetensors"),
                      checkpoint_bytes_with("config", R"({"a": )" + nested_lists(100'000) + "}"));
  const std::pair<const char*, const char*> cases[] = {
      {"dtype.safetensors", "sweep: dtype.safetensors:1:77: "},
      {"config.safetensors", "sweep: config.safetensors: __metadata__.config:1:70: "}};
  for (const auto& [file, error] : cases) {
    const auto r = testing::run_sweep({"eval", "--checkpoint", file}, dir.path());
    EXPECT_EQ(r.exit_code, 1) << file;
    EXPECT_EQ(r.err, std::string(error) + "lists and objects nest deeper than 64 levels\n");
  }
}

// Through the program: --resume from another config's checkpoint, eval of a damaged file.
class CheckpointCli : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto r = testing::run_sweep(
        {"train", "--set", "dataset=synthetic", "--set", "synthetic_train=64", "--set",
         "synthetic_test=32", "--set", "model=nano/4", "--set", "epochs=1", "--set",
         "batch_size=16", "--set", "threads=1", "--save", "ck.safetensors"},
        dir.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  TempDir dir;
};

TEST_F(CheckpointCli, ResumeWithAnotherConfigIsRefusedNamingTheKey) {
  const auto r = testing::run_sweep(
      {"train", "--set", "dataset=synthetic", "--set", "synthetic_train=64", "--set",
       "synthetic_test=32", "--set", "model=nano/4", "--set", "epochs=2", "--set", "batch_size=16",
       "--set", "attn=relu", "--resume", "ck.safetensors"},
      dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("cannot resume: the checkpoint was trained with attn=\"softmax\", "
                               "this run has attn=\"relu\""));
}

TEST_F(CheckpointCli, InitFromAModelOfAnotherShapeIsRefusedNamingTheTensor) {
  const auto r =
      testing::run_sweep({"train", "--set", "dataset=synthetic", "--set", "synthetic_train=64",
                          "--set", "synthetic_test=32", "--set", "model=micro/4", "--set",
                          "epochs=1", "--set", "batch_size=16", "--init-from", "ck.safetensors"},
                         dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("expected shape"));
}

TEST_F(CheckpointCli, EvalOfATruncatedCheckpointFailsCleanly) {
  const std::string bytes = testing::read_file(dir.file("ck.safetensors"));
  testing::write_file(dir.file("ck.safetensors"), bytes.substr(0, bytes.size() / 2));
  const auto r = testing::run_sweep({"eval", "--checkpoint", "ck.safetensors"}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("ck.safetensors: tensor"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
}

TEST_F(CheckpointCli, MismatchedOptimizerStateIsDetectedOnResume) {
  // The weights file says step N; an optimizer file from another run says something else.
  const std::string good_weights = testing::read_file(dir.file("ck.safetensors"));
  const auto r2 = testing::run_sweep(
      {"train", "--set", "dataset=synthetic", "--set", "synthetic_train=64", "--set",
       "synthetic_test=32", "--set", "model=nano/4", "--set", "epochs=2", "--set", "batch_size=16",
       "--set", "threads=1", "--save", "ck.safetensors"},
      dir.path());
  ASSERT_EQ(r2.exit_code, 0);
  testing::write_file(dir.file("ck.safetensors"),
                      good_weights);  // epoch 1 weights, epoch 2 moments
  // The weights file's config (epochs=1): a resume may not change the cosine schedule's length.
  const auto r =
      testing::run_sweep({"train", "--set", "dataset=synthetic", "--set", "synthetic_train=64",
                          "--set", "synthetic_test=32", "--set", "model=nano/4", "--set",
                          "epochs=1", "--set", "batch_size=16", "--resume", "ck.safetensors"},
                         dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("the pair is mismatched"));
}

}  // namespace
}  // namespace vitsweep::engine
