#include "data/files.hpp"

#include <cerrno>
#include <cstdio>
#include <memory>

#include "common/error.hpp"
#include "common/huge_pages.hpp"
#include "data/decompressed_cache.hpp"
#include "data/gzip.hpp"

namespace vitsweep::data {

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  if (!file) fail("{}: cannot open: {}", path, errno_text(errno));
  // Read in chunks rather than trusting the size: the file may be a pipe or still growing.
  constexpr size_t kChunk = 1 << 20;
  std::vector<uint8_t> bytes;
  if (std::fseek(file.get(), 0, SEEK_END) == 0) {
    const long size = std::ftell(file.get());
    if (size > 0) reserve_in_huge_pages(bytes, static_cast<size_t>(size) + kChunk);
    std::rewind(file.get());
  }
  size_t used = 0;
  while (true) {
    bytes.resize(used + kChunk);
    const size_t got = std::fread(bytes.data() + used, 1, kChunk, file.get());
    used += got;
    if (got < kChunk) break;
  }
  bytes.resize(used);
  if (std::ferror(file.get()))
    fail("{}: read error after {} bytes: {}", path, used, errno_text(errno));
  return bytes;
}

std::vector<uint8_t> read_data_file(const std::string& path) {
  std::vector<uint8_t> bytes = read_file_bytes(path);
  if (is_gzip(bytes)) return gunzip_with_cache(path, bytes);
  return bytes;
}

}  // namespace vitsweep::data
