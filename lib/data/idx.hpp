// The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): a big-endian
// header 00 00 <type> <ndims>, ndims big-endian uint32 sizes, then the elements row-major.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vitsweep::data {

// Only the unsigned-byte element type (0x08) is needed: both data sets store pixels and labels so.
struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;  // product(dims) bytes
};

// Parses IDX bytes; `name` (the file) starts every error. Errors say what was expected and what
// was found: bad magic, unsupported type, short header, dims that disagree with the data size.
// Takes the bytes by value: a moved-in file becomes the array's data without a copy.
IdxArray parse_idx(std::vector<uint8_t> bytes, std::string_view name);

// Reads an IDX file, gzipped (detected by the magic 1f 8b, not the name) or raw.
IdxArray read_idx_file(const std::string& path);

// "60000x28x28"
std::string format_dims(std::span<const int64_t> dims);

}  // namespace vitsweep::data
