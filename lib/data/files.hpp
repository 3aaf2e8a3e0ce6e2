// Reading data set files whole: they are small enough (tens of MB) to decode in memory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vitsweep::data {

// The file's bytes; a missing or unreadable file is an Error naming it.
std::vector<uint8_t> read_file_bytes(const std::string& path);

// The file's contents, gunzipped when they start with the gzip magic (not judged by the name),
// through a decompressed copy kept from an earlier read when there is one (decompressed_cache.hpp).
std::vector<uint8_t> read_data_file(const std::string& path);

}  // namespace vitsweep::data
