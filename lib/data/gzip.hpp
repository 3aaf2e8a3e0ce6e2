// gzip decompression for the data set files (Fashion-MNIST ships as .gz).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace vitsweep::data {

// True when the bytes start with the gzip magic 1f 8b, whatever the file is called.
bool is_gzip(std::span<const uint8_t> bytes);

// The last 8 bytes of gzip data: the CRC-32 of its (last member's) decompressed bytes and their
// length mod 2^32. Nothing for fewer bytes than a gzip header and trailer (18).
struct GzipTrailer {
  uint32_t crc32 = 0;
  uint32_t size_mod_2_32 = 0;
};
std::optional<GzipTrailer> gzip_trailer(std::span<const uint8_t> bytes);

// Inflates gzip (or zlib) data, members back to back included. A truncated or corrupt stream,
// or bytes after its end, is an Error naming `name` (the file) and what went wrong.
std::vector<uint8_t> gunzip(std::span<const uint8_t> bytes, std::string_view name);

}  // namespace vitsweep::data
