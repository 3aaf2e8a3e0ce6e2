// Decompressed copies of gzip data set files, so that a sweep's trials (a process each) do not
// all inflate the same file: Fashion-MNIST's training images take 0.4 s to inflate on one core,
// 0.05 s to read back and check.
//
// The folder: $VITSWEEP_CACHE_DIR, else $XDG_CACHE_HOME/vitsweep, else $HOME/.cache/vitsweep;
// VITSWEEP_CACHE_DIR=off turns the copies off. A copy is named by the source's absolute path,
// size and modification time, and used only when its length and CRC-32 are the ones the gzip
// file's own trailer records; otherwise the file is inflated again and its copy rewritten.
// Only files of 1 MiB and more decompressed get a copy. A folder that cannot be written costs
// only the time the copy would save.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace vitsweep::data {

// The folder of the copies, or nothing when they are turned off or no folder is known.
std::optional<std::string> decompressed_cache_dir();

// `compressed`, the gzip bytes of the file at `path`, decompressed: from its copy when there is
// a good one, else inflated (errors as gunzip's) and copied for next time.
std::vector<uint8_t> gunzip_with_cache(const std::string& path,
                                       std::span<const uint8_t> compressed);

}  // namespace vitsweep::data
