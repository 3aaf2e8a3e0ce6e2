#include "data/decompressed_cache.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/error.hpp"
#include "common/machine.hpp"
#include "common/sha256.hpp"
#include "data/files.hpp"
#include "data/gzip.hpp"

namespace vitsweep::data {
namespace {

// Smaller files inflate in a few milliseconds: not worth a copy (nor test fixtures in
// temporary folders, which would each leave one behind).
constexpr size_t kSmallestCopy = size_t{1} << 20;

bool matches(std::span<const uint8_t> data, const GzipTrailer& trailer) {
  if (static_cast<uint32_t>(data.size()) != trailer.size_mod_2_32) return false;
  uLong crc = crc32_z(0L, Z_NULL, 0);
  crc = crc32_z(crc, data.data(), data.size());
  return static_cast<uint32_t>(crc) == trailer.crc32;
}

// The copy's file name: the source's absolute path, size and modification time hashed, then the
// source's name without ".gz" for whoever looks in the folder.
std::optional<std::string> copy_path(const std::string& folder, const std::string& source) {
  struct stat st {};
  if (::stat(source.c_str(), &st) != 0) return std::nullopt;
  std::error_code error;
  const std::filesystem::path absolute = std::filesystem::absolute(source, error);
  if (error) return std::nullopt;
  const std::string identity = fmt::format("{}\n{}\n{}.{:09}", absolute.string(), st.st_size,
                                           st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  std::string name = absolute.filename().string();
  if (name.size() > 3 && name.ends_with(".gz")) name.resize(name.size() - 3);
  return (std::filesystem::path(folder) / (sha256_hex(identity).substr(0, 16) + "-" + name))
      .string();
}

// The start of the names the copy is written under before its rename: "<copy>.<host>.", then
// the writer's pid and ".partial". The host keeps a cache folder shared by several machines
// from taking one machine's pid for another's.
std::string partial_prefix(const std::string& copy) {
  return fmt::format("{}.{}.", copy, host_name());
}

// Partial copies of `copy` left by processes of this host that no longer run (killed while
// writing: a kill -9 leaves its file behind, tens of MB each for Fashion-MNIST).
void remove_abandoned_partials(const std::string& folder, const std::string& copy) {
  const std::string prefix = std::filesystem::path(partial_prefix(copy)).filename().string();
  std::error_code error;  // the cache never fails a read: a folder that cannot be listed is left
  for (std::filesystem::directory_iterator it(folder, error), end; !error && it != end;
       it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (!name.starts_with(prefix) || !name.ends_with(".partial")) continue;
    const std::string pid_text =
        name.substr(prefix.size(), name.size() - prefix.size() - std::string(".partial").size());
    char* digits_end = nullptr;
    const long pid = std::strtol(pid_text.c_str(), &digits_end, 10);
    if (pid_text.empty() || *digits_end != '\0' || pid <= 0) continue;
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
      std::error_code ignored;
      std::filesystem::remove(it->path(), ignored);
    }
  }
}

// Written under a name of this process's own, then renamed into place: trials that start
// together each write their own whole copy, and the last rename wins. Not synced: a copy lost
// or damaged in a crash fails its check and is made again. A folder that cannot be written
// costs only the time a copy would save.
void write_copy(const std::string& folder, const std::string& copy,
                std::span<const uint8_t> bytes) {
  std::error_code error;
  std::filesystem::create_directories(folder, error);
  if (error) return;
  remove_abandoned_partials(folder, copy);
  const std::string temporary = fmt::format("{}{}.partial", partial_prefix(copy), ::getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      std::filesystem::remove(temporary, error);
      return;
    }
  }
  std::filesystem::rename(temporary, copy, error);
  if (error) std::filesystem::remove(temporary, error);
}

}  // namespace

std::optional<std::string> decompressed_cache_dir() {
  const auto set = [](const char* name) -> const char* {
    const char* value = std::getenv(name);
    return value != nullptr && *value != '\0' ? value : nullptr;
  };
  if (const char* dir = set("VITSWEEP_CACHE_DIR")) {
    if (std::string_view(dir) == "off") return std::nullopt;
    return std::string(dir);
  }
  if (const char* xdg = set("XDG_CACHE_HOME")) return std::string(xdg) + "/vitsweep";
  if (const char* home = set("HOME")) return std::string(home) + "/.cache/vitsweep";
  return std::nullopt;
}

std::vector<uint8_t> gunzip_with_cache(const std::string& path,
                                       std::span<const uint8_t> compressed) {
  const std::optional<std::string> folder = decompressed_cache_dir();
  const std::optional<GzipTrailer> trailer = gzip_trailer(compressed);
  const std::optional<std::string> copy =
      folder && trailer ? copy_path(*folder, path) : std::nullopt;
  if (copy) {
    std::error_code error;
    if (std::filesystem::is_regular_file(*copy, error)) {
      try {
        std::vector<uint8_t> bytes = read_file_bytes(*copy);
        if (matches(bytes, *trailer)) return bytes;
      } catch (const Error&) {
        // unreadable: inflate instead, and write it again below
      }
    }
  }
  std::vector<uint8_t> bytes = gunzip(compressed, path);
  // Only a copy that the trailer vouches for is kept: of a file of several gzip members the
  // trailer describes the last one alone, and such a copy could never be used.
  if (copy && bytes.size() >= kSmallestCopy && matches(bytes, *trailer)) {
    write_copy(*folder, *copy, bytes);
  }
  return bytes;
}

}  // namespace vitsweep::data
