#include "data/gzip.hpp"

#include <zlib.h>

#include <algorithm>
#include <limits>

#include "common/error.hpp"
#include "common/huge_pages.hpp"

namespace vitsweep::data {
namespace {

// The first output buffer is at most this many times the compressed size (image files compress
// 2-5x); beyond it the buffer doubles as needed. A cap at zlib's largest ratio (1032) let the
// garbage "trailer" of a truncated 9 MB file allocate and zero 9 GB before failing.
constexpr size_t kMaxHintRatio = 16;

// The gzip trailer ends with the uncompressed size mod 2^32: a good first guess for the output
// buffer, only a guess because a corrupt or multi-member file can disagree with it.
size_t output_size_hint(std::span<const uint8_t> bytes) {
  size_t hint = 64 * 1024;
  if (const std::optional<GzipTrailer> trailer = gzip_trailer(bytes)) {
    hint = std::max(hint, std::min(size_t{trailer->size_mod_2_32}, bytes.size() * kMaxHintRatio));
  }
  return hint;
}

class InflateStream {
 public:
  explicit InflateStream(std::string_view name) {
    // 15 + 32: the largest window, and accept either a gzip or a zlib header.
    if (inflateInit2(&stream_, 15 + 32) != Z_OK) fail("{}: cannot start zlib inflate", name);
  }
  ~InflateStream() { inflateEnd(&stream_); }
  InflateStream(const InflateStream&) = delete;
  InflateStream& operator=(const InflateStream&) = delete;

  z_stream* get() { return &stream_; }

 private:
  z_stream stream_{};
};

}  // namespace

std::optional<GzipTrailer> gzip_trailer(std::span<const uint8_t> bytes) {
  if (bytes.size() < 18) return std::nullopt;
  const uint8_t* t = bytes.data() + bytes.size() - 8;
  const auto word = [](const uint8_t* p) {
    return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
  };
  return GzipTrailer{word(t), word(t + 4)};
}

bool is_gzip(std::span<const uint8_t> bytes) {
  return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

std::vector<uint8_t> gunzip(std::span<const uint8_t> bytes, std::string_view name) {
  InflateStream inflater(name);
  z_stream* stream = inflater.get();
  std::vector<uint8_t> out;
  const auto grow = [&out](size_t size) {
    reserve_in_huge_pages(out, size);
    out.resize(size);
  };
  grow(output_size_hint(bytes));
  size_t in_pos = 0, out_pos = 0;
  constexpr size_t kMaxChunk = std::numeric_limits<uInt>::max();
  while (true) {
    if (out_pos == out.size()) grow(out.size() * 2);
    // zlib's interface is not const-correct; inflate never writes through next_in.
    stream->next_in = const_cast<Bytef*>(bytes.data() + in_pos);
    stream->avail_in = static_cast<uInt>(std::min(bytes.size() - in_pos, kMaxChunk));
    stream->next_out = out.data() + out_pos;
    stream->avail_out = static_cast<uInt>(std::min(out.size() - out_pos, kMaxChunk));
    const uInt in_before = stream->avail_in, out_before = stream->avail_out;
    const int status = inflate(stream, Z_NO_FLUSH);
    in_pos += in_before - stream->avail_in;
    out_pos += out_before - stream->avail_out;

    if (status == Z_OK) continue;
    if (status == Z_STREAM_END) {
      if (in_pos == bytes.size()) break;
      // gzip allows members back to back (`cat a.gz b.gz`); anything else after the end is junk.
      if (!is_gzip(bytes.subspan(in_pos))) {
        fail(
            "{}: unexpected {} bytes after the end of the gzip data at byte {} (expected end of "
            "file or another gzip member)",
            name, bytes.size() - in_pos, in_pos);
      }
      inflateReset(stream);
      continue;
    }
    if (status == Z_BUF_ERROR && in_pos == bytes.size()) {
      fail(
          "{}: truncated gzip data: the file ends after {} compressed bytes ({} decompressed), "
          "before the end of the stream",
          name, bytes.size(), out_pos);
    }
    if (status == Z_BUF_ERROR) continue;  // the output was full; the loop grows it
    if (status == Z_DATA_ERROR) {
      fail("{}: corrupt gzip data near compressed byte {}: {}", name, in_pos,
           stream->msg != nullptr ? stream->msg : "invalid data");
    }
    if (status == Z_MEM_ERROR) fail("{}: out of memory while decompressing", name);
    fail("{}: gzip decompression failed (zlib status {})", name, status);
  }
  out.resize(out_pos);
  return out;
}

}  // namespace vitsweep::data
