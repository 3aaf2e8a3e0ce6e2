#include "data/idx.hpp"

#include <fmt/format.h>

#include <limits>
#include <utility>

#include "common/error.hpp"
#include "data/files.hpp"

namespace vitsweep::data {
namespace {

constexpr uint8_t kUnsignedByteType = 0x08;

uint32_t read_big_endian_u32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

// Elements the dims describe, saturating at UINT64_MAX when the product overflows.
uint64_t element_count(std::span<const int64_t> dims) {
  uint64_t count = 1;
  for (const int64_t dim : dims) {
    const auto d = static_cast<uint64_t>(dim);
    if (d != 0 && count > std::numeric_limits<uint64_t>::max() / d) {
      return std::numeric_limits<uint64_t>::max();
    }
    count *= d;
  }
  return count;
}

}  // namespace

std::string format_dims(std::span<const int64_t> dims) {
  if (dims.empty()) return "(no dims)";
  return fmt::format("{}", fmt::join(dims, "x"));
}

IdxArray parse_idx(std::vector<uint8_t> bytes, std::string_view name) {
  if (bytes.size() < 4) {
    fail("{}: too short for an IDX file: expected a 4-byte magic number, found {} bytes", name,
         bytes.size());
  }
  if (bytes[0] != 0 || bytes[1] != 0) {
    fail("{}: not an IDX file: expected magic 00 00 08 <ndims>, found {:02x} {:02x} {:02x} {:02x}",
         name, bytes[0], bytes[1], bytes[2], bytes[3]);
  }
  if (bytes[2] != kUnsignedByteType) {
    fail("{}: unsupported IDX element type 0x{:02x} (expected 0x08, unsigned byte)", name,
         bytes[2]);
  }
  const size_t ndims = bytes[3];
  const size_t header_bytes = 4 + 4 * ndims;
  if (bytes.size() < header_bytes) {
    fail("{}: truncated IDX header: {} dims need a {}-byte header, found {} bytes", name, ndims,
         header_bytes, bytes.size());
  }

  IdxArray array;
  for (size_t i = 0; i < ndims; ++i) array.dims.push_back(read_big_endian_u32(&bytes[4 + 4 * i]));
  const uint64_t expected = element_count(array.dims);
  const uint64_t found = bytes.size() - header_bytes;
  if (expected != found) {
    const std::string expected_text = expected == std::numeric_limits<uint64_t>::max()
                                          ? "more than 2^64"
                                          : std::to_string(expected);
    fail("{}: IDX dims {} need {} data bytes after the {}-byte header, found {}", name,
         format_dims(array.dims), expected_text, header_bytes, found);
  }
  // The header out, the elements moved down in place: no second buffer of the file's size.
  bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(header_bytes));
  array.data = std::move(bytes);
  return array;
}

IdxArray read_idx_file(const std::string& path) { return parse_idx(read_data_file(path), path); }

}  // namespace vitsweep::data
