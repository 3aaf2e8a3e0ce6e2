#include "data/decompressed_cache.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>

#include "common/error.hpp"
#include "common/machine.hpp"
#include "data/files.hpp"
#include "data/gzip.hpp"
#include "data_test_support.hpp"

namespace vitsweep::data {
namespace {

using testing::Bytes;
using testing::gzip_bytes;
using testing::TempDir;
namespace fs = std::filesystem;

// Sets an environment variable for one test (each test runs in a process of its own).
class ScopedVariable {
 public:
  ScopedVariable(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedVariable() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// 3 MB that compress (a copy is kept of 1 MiB and more).
Bytes image_like_bytes(uint8_t seed) {
  Bytes bytes(3'000'000);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>((i / 97) * seed);
  return bytes;
}

std::vector<fs::path> files_in(const std::string& folder) {
  std::vector<fs::path> files;
  if (!fs::exists(folder)) return files;
  for (const auto& entry : fs::directory_iterator(folder)) files.push_back(entry.path());
  return files;
}

Bytes read_back(const fs::path& path) { return read_file_bytes(path.string()); }

TEST(DecompressedCache, FolderComesFromTheEnvironment) {
  {
    ScopedVariable dir("VITSWEEP_CACHE_DIR", "/somewhere/else");
    EXPECT_EQ(decompressed_cache_dir(), "/somewhere/else");
  }
  {
    ScopedVariable dir("VITSWEEP_CACHE_DIR", "off");
    EXPECT_EQ(decompressed_cache_dir(), std::nullopt);
  }
  ScopedVariable dir("VITSWEEP_CACHE_DIR", "");
  {
    ScopedVariable xdg("XDG_CACHE_HOME", "/xdg");
    EXPECT_EQ(decompressed_cache_dir(), "/xdg/vitsweep");
  }
  ScopedVariable xdg("XDG_CACHE_HOME", "");
  ScopedVariable home("HOME", "/home/someone");
  EXPECT_EQ(decompressed_cache_dir(), "/home/someone/.cache/vitsweep");
}

TEST(DecompressedCache, TheSecondReadComesFromTheCopy) {
  TempDir dir;
  ScopedVariable cache("VITSWEEP_CACHE_DIR", dir.file("cache"));
  const Bytes raw = image_like_bytes(3);
  Bytes gz = gzip_bytes(raw);
  const std::string source = dir.write("train-images-idx3-ubyte.gz", gz);
  EXPECT_EQ(read_data_file(source), raw);
  const std::vector<fs::path> copies = files_in(dir.file("cache"));
  ASSERT_EQ(copies.size(), 1u);
  EXPECT_THAT(copies[0].filename().string(), ::testing::EndsWith("-train-images-idx3-ubyte"));
  EXPECT_EQ(read_back(copies[0]), raw);

  // Damage the compressed data but not its trailer, and keep the size and modification time:
  // only a read from the copy still gives the data.
  const auto modified = fs::last_write_time(source);
  for (size_t i = 100; i < 200; ++i) gz[i] ^= 0x5a;
  dir.write("train-images-idx3-ubyte.gz", gz);
  fs::last_write_time(source, modified);
  EXPECT_THROW(gunzip(gz, source), Error);
  EXPECT_EQ(read_data_file(source), raw);
}

TEST(DecompressedCache, ADamagedCopyIsNotUsedAndIsMadeAgain) {
  TempDir dir;
  ScopedVariable cache("VITSWEEP_CACHE_DIR", dir.file("cache"));
  const Bytes raw = image_like_bytes(5);
  const std::string source = dir.write("data.gz", gzip_bytes(raw));
  ASSERT_EQ(read_data_file(source), raw);
  const fs::path copy = files_in(dir.file("cache")).at(0);
  Bytes damaged = raw;
  damaged[1'234'567] ^= 1;  // same length: only the CRC-32 tells
  dir.write(fs::relative(copy, dir.path()).string(), damaged);
  ASSERT_EQ(read_back(copy), damaged);
  EXPECT_EQ(read_data_file(source), raw);
  EXPECT_EQ(read_back(copy), raw);
}

// A kill -9 while a copy is written leaves its partial file behind. The next writer of that copy
// removes those of this host's processes that no longer run, and only those: not a running
// writer's, not another machine's (a cache folder may be shared), not another file's.
TEST(DecompressedCache, PartialCopiesOfProcessesThatNoLongerRunAreRemoved) {
  TempDir dir;
  const std::string folder = dir.file("cache");
  ScopedVariable cache("VITSWEEP_CACHE_DIR", folder);
  const Bytes raw = image_like_bytes(7);
  const std::string source = dir.write("data.gz", gzip_bytes(raw));
  ASSERT_EQ(read_data_file(source), raw);
  const fs::path copy = files_in(folder).at(0);
  fs::remove(copy);

  const pid_t gone = ::fork();  // a pid that has just ended
  if (gone == 0) ::_exit(0);
  ASSERT_GT(gone, 0);
  ASSERT_EQ(::waitpid(gone, nullptr, 0), gone);
  const std::string host = host_name();
  const std::string abandoned = fmt::format("{}.{}.{}.partial", copy.string(), host, gone);
  const std::vector<std::string> kept = {
      fmt::format("{}.{}.{}.partial", copy.string(), host, ::getppid()),  // a running writer
      fmt::format("{}.other-host.{}.partial", copy.string(), gone),
      fmt::format("{}-other.{}.{}.partial", copy.string(), host, gone),
  };
  for (const std::string& name : kept) dir.write(fs::relative(name, dir.path()).string(), raw);
  dir.write(fs::relative(abandoned, dir.path()).string(), raw);

  EXPECT_EQ(read_data_file(source), raw);
  EXPECT_FALSE(fs::exists(abandoned));
  for (const std::string& name : kept) EXPECT_TRUE(fs::exists(name)) << name;
  EXPECT_EQ(read_back(copy), raw);
}

TEST(DecompressedCache, AChangedSourceGetsItsOwnCopy) {
  TempDir dir;
  ScopedVariable cache("VITSWEEP_CACHE_DIR", dir.file("cache"));
  const std::string source = dir.write("data.gz", gzip_bytes(image_like_bytes(3)));
  ASSERT_EQ(read_data_file(source), image_like_bytes(3));
  Bytes other = image_like_bytes(7);
  other.resize(2'500'000);
  dir.write("data.gz", gzip_bytes(other));
  EXPECT_EQ(read_data_file(source), other);
  EXPECT_EQ(files_in(dir.file("cache")).size(), 2u);
}

TEST(DecompressedCache, OffWritesNothing) {
  TempDir dir;
  ScopedVariable cache("VITSWEEP_CACHE_DIR", "off");
  ScopedVariable xdg("XDG_CACHE_HOME", dir.file("xdg"));
  ScopedVariable home("HOME", dir.file("home"));
  const Bytes raw = image_like_bytes(3);
  EXPECT_EQ(read_data_file(dir.write("data.gz", gzip_bytes(raw))), raw);
  EXPECT_FALSE(fs::exists(dir.file("xdg")));
  EXPECT_FALSE(fs::exists(dir.file("home")));
}

TEST(DecompressedCache, AFolderThatCannotBeWrittenOnlyCostsTime) {
  TempDir dir;
  const std::string not_a_folder = dir.write("plain-file", {1, 2, 3});
  ScopedVariable cache("VITSWEEP_CACHE_DIR", not_a_folder + "/cache");
  const Bytes raw = image_like_bytes(3);
  EXPECT_EQ(read_data_file(dir.write("data.gz", gzip_bytes(raw))), raw);
}

TEST(DecompressedCache, NoCopyOfSmallFilesOrOfSeveralMembers) {
  // Of several gzip members the trailer vouches for the last one alone.
  TempDir dir;
  ScopedVariable cache("VITSWEEP_CACHE_DIR", dir.file("cache"));
  const Bytes small(100'000, 7);
  EXPECT_EQ(read_data_file(dir.write("small.gz", gzip_bytes(small))), small);
  const Bytes a = image_like_bytes(3), b = image_like_bytes(5);
  Bytes joined = gzip_bytes(a);
  const Bytes second = gzip_bytes(b);
  joined.insert(joined.end(), second.begin(), second.end());
  Bytes expected = a;
  expected.insert(expected.end(), b.begin(), b.end());
  EXPECT_EQ(read_data_file(dir.write("joined.gz", joined)), expected);
  EXPECT_EQ(read_data_file(dir.write("joined.gz", joined)), expected);
  EXPECT_TRUE(files_in(dir.file("cache")).empty());
}

}  // namespace
}  // namespace vitsweep::data
