#include "data/gzip.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "data_test_support.hpp"

namespace vitsweep::data {
namespace {

using testing::Bytes;
using testing::error_message;
using testing::gzip_bytes;
using ::testing::HasSubstr;

Bytes counting_bytes(size_t n) {
  Bytes bytes(n);
  for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<uint8_t>(i * 31 / 7);
  return bytes;
}

TEST(Gunzip, RoundTripsDataLargerThanItsFirstGuess) {
  const Bytes raw = counting_bytes(3'000'000);
  EXPECT_EQ(gunzip(gzip_bytes(raw), "big.gz"), raw);
}

TEST(Gunzip, DecodesMembersBackToBack) {
  // What `cat a.gz b.gz` produces; gzip -d yields a followed by b.
  const Bytes a = counting_bytes(1000), b = {1, 2, 3};
  Bytes joined = gzip_bytes(a);
  const Bytes second = gzip_bytes(b);
  joined.insert(joined.end(), second.begin(), second.end());
  Bytes expected = a;
  expected.insert(expected.end(), b.begin(), b.end());
  EXPECT_EQ(gunzip(joined, "joined.gz"), expected);
}

TEST(Gunzip, EmptyPayloadIsEmpty) { EXPECT_TRUE(gunzip(gzip_bytes({}), "empty.gz").empty()); }

TEST(Gunzip, TruncatedStreamNamesTheFileAndSaysTruncated) {
  Bytes gz = gzip_bytes(counting_bytes(100'000));
  const size_t full = gz.size();
  gz.resize(full / 2);
  const std::string message = error_message([&] { gunzip(gz, "/data/train.gz"); });
  EXPECT_THAT(message, HasSubstr("/data/train.gz"));
  EXPECT_THAT(message, HasSubstr("truncated"));
  EXPECT_THAT(message, HasSubstr(std::to_string(full / 2) + " compressed bytes"));
}

TEST(Gunzip, MissingTrailerIsTruncated) {
  Bytes gz = gzip_bytes(counting_bytes(1000));
  gz.resize(gz.size() - 4);  // drop the size field of the trailer
  EXPECT_THAT(error_message([&] { gunzip(gz, "a.gz"); }), HasSubstr("a.gz: truncated"));
}

TEST(Gunzip, EveryTruncationIsAnErrorNotACrash) {
  const Bytes gz = gzip_bytes(counting_bytes(300));
  for (size_t size = 0; size < gz.size(); ++size) {
    const Bytes prefix(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(size));
    EXPECT_THROW(gunzip(prefix, "prefix.gz"), Error) << size << " bytes";
  }
}

TEST(Gunzip, CorruptDataNamesTheFile) {
  Bytes gz = gzip_bytes(counting_bytes(10'000));
  for (size_t i = 20; i < 60; ++i) gz[i] ^= 0x5a;
  const std::string message = error_message([&] { gunzip(gz, "bad.gz"); });
  EXPECT_THAT(message, HasSubstr("bad.gz: corrupt gzip data"));
}

TEST(Gunzip, CorruptChecksumIsCorrupt) {
  Bytes gz = gzip_bytes(counting_bytes(1000));
  gz[gz.size() - 8] ^= 0xff;  // first byte of the CRC-32
  EXPECT_THAT(error_message([&] { gunzip(gz, "crc.gz"); }), HasSubstr("crc.gz: corrupt gzip data"));
}

TEST(Gunzip, JunkAfterTheStreamIsAnError) {
  Bytes gz = gzip_bytes({1, 2, 3});
  gz.push_back(0);
  gz.push_back(0);
  EXPECT_THAT(error_message([&] { gunzip(gz, "junk.gz"); }),
              HasSubstr("junk.gz: unexpected 2 bytes after the end of the gzip data"));
}

TEST(IsGzip, LooksAtTheMagicOnly) {
  EXPECT_TRUE(is_gzip(Bytes{0x1f, 0x8b, 0x08}));
  EXPECT_FALSE(is_gzip(Bytes{0x00, 0x00, 0x08, 0x03}));
  EXPECT_FALSE(is_gzip(Bytes{0x1f}));
}

}  // namespace
}  // namespace vitsweep::data
