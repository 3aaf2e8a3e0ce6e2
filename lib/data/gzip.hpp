// gzip decompression for the data set files (Fashion-MNIST ships as .gz).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace vitsweep::data {

// True when the bytes start with the gzip magic 1f 8b, whatever the file is called.
bool is_gzip(std::span<const uint8_t> bytes);

// Inflates gzip (or zlib) data, members back to back included. A truncated or corrupt stream,
// or bytes after its end, is an Error naming `name` (the file) and what went wrong.
std::vector<uint8_t> gunzip(std::span<const uint8_t> bytes, std::string_view name);

}  // namespace vitsweep::data
