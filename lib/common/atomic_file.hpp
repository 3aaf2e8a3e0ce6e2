// Writing a file so that readers, and a crash at any moment, see either the old file or the
// whole new one: write a temporary beside it, fsync, rename over, fsync the folder.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace vitsweep {

void write_file_atomically(const std::string& path, std::span<const uint8_t> bytes);
void write_file_atomically(const std::string& path, std::string_view text);

// Renames `from` over `to` and makes the rename durable: after a crash, `to` is the old file or
// the new one, never neither.
void rename_durably(const std::string& from, const std::string& to);

}  // namespace vitsweep
