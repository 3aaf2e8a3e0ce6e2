// Fixture files for the data tests, written at run time into a fresh temporary directory: IDX,
// gzip and CIFAR bytes built here byte by byte, so the tests state exactly what the files hold.
#pragma once

#include "support/thrown.hpp"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace vitsweep::data::testing {

using Bytes = std::vector<uint8_t>;

// A directory that exists for one test and is removed after it.
class TempDir {
 public:
  TempDir() {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = "vitsweep-data-";
    if (test != nullptr) name += std::string(test->test_suite_name()) + "-" + test->name() + "-";
    path_ = std::filesystem::temp_directory_path() / (name + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string path() const { return path_.string(); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

  // Writes `bytes` to `name` inside the directory; returns the full path.
  std::string write(const std::string& name, const Bytes& bytes) const {
    const std::string full = file(name);
    std::ofstream out(full, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    EXPECT_TRUE(out.good()) << "cannot write " << full;
    return full;
  }

 private:
  std::filesystem::path path_;
};

inline void append_big_endian_u32(Bytes& bytes, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8)
    bytes.push_back(static_cast<uint8_t>(value >> shift));
}

// An unsigned-byte IDX file: magic 00 00 08 ndims, big-endian dims, then `data`.
inline Bytes idx_bytes(const std::vector<uint32_t>& dims, const Bytes& data) {
  Bytes bytes = {0, 0, 0x08, static_cast<uint8_t>(dims.size())};
  for (const uint32_t dim : dims) append_big_endian_u32(bytes, dim);
  bytes.insert(bytes.end(), data.begin(), data.end());
  return bytes;
}

// `count` 28x28 images whose pixel p of image i is (i * 7 + p) mod 256: every image distinct.
inline Bytes mnist_pixels(uint32_t count) {
  Bytes pixels(size_t{count} * 28 * 28);
  for (size_t i = 0; i < pixels.size(); ++i)
    pixels[i] = static_cast<uint8_t>((i / 784) * 7 + i % 784);
  return pixels;
}

inline Bytes gzip_bytes(const Bytes& raw) {
  z_stream stream{};
  // 15 + 16: a gzip header and trailer rather than zlib's.
  EXPECT_EQ(deflateInit2(&stream, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  Bytes out(deflateBound(&stream, raw.size()) + 64);
  stream.next_in = const_cast<Bytef*>(raw.data());
  stream.avail_in = static_cast<uInt>(raw.size());
  stream.next_out = out.data();
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

// Writes the four files of an MNIST-style data set: `train` and `test` images with labels
// i mod 10, gzipped or raw.
inline void write_mnist_files(const TempDir& dir, uint32_t train, uint32_t test, bool gzip) {
  auto write = [&](const std::string& name, const Bytes& bytes) {
    if (gzip)
      dir.write(name + ".gz", gzip_bytes(bytes));
    else
      dir.write(name, bytes);
  };
  auto labels = [](uint32_t count) {
    Bytes out(count);
    for (uint32_t i = 0; i < count; ++i) out[i] = static_cast<uint8_t>(i % 10);
    return out;
  };
  write("train-images-idx3-ubyte", idx_bytes({train, 28, 28}, mnist_pixels(train)));
  write("train-labels-idx1-ubyte", idx_bytes({train}, labels(train)));
  write("t10k-images-idx3-ubyte", idx_bytes({test, 28, 28}, mnist_pixels(test)));
  write("t10k-labels-idx1-ubyte", idx_bytes({test}, labels(test)));
}

// CIFAR records: the label bytes given per record, then 3072 pixels with pixel p = (r + p) mod 256.
inline Bytes cifar_bytes(const std::vector<Bytes>& record_labels) {
  Bytes bytes;
  for (size_t r = 0; r < record_labels.size(); ++r) {
    bytes.insert(bytes.end(), record_labels[r].begin(), record_labels[r].end());
    for (size_t p = 0; p < 3072; ++p) bytes.push_back(static_cast<uint8_t>(r + p));
  }
  return bytes;
}

// The message of the vitsweep::Error `action` throws; fails the test if it throws nothing.
inline std::string error_message(const std::function<void()>& action) {
  return vitsweep::testing::thrown_message(action);
}

}  // namespace vitsweep::data::testing
