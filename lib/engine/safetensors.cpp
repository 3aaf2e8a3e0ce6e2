#include "engine/safetensors.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/json.hpp"
#include "common/text.hpp"

namespace vitsweep::engine {

namespace {

// A header larger than this is refused before it is read (the format's own limit is 100 MB).
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

int64_t dtype_bytes(const std::string& dtype) {
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL" || dtype == "F8_E4M3" ||
      dtype == "F8_E5M2") {
    return 1;
  }
  return 0;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::vector<std::string> parts;
  for (int64_t d : shape) parts.push_back(std::to_string(d));
  return fmt::format("[{}]", join(parts, ", "));
}

// IEEE binary16: 1 sign, 5 exponent (bias 15), 10 fraction bits; every value is a float.
float half_to_float(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000) << 16;
  const uint32_t exponent = (bits >> 10) & 0x1f;
  const uint32_t fraction = bits & 0x3ff;
  uint32_t out;
  if (exponent == 0x1f) {
    out = sign | 0x7f800000 | (fraction << 13);  // infinity or NaN
  } else if (exponent != 0) {
    out = sign | ((exponent + 127 - 15) << 23) | (fraction << 13);
  } else {
    // zero or subnormal: fraction * 2^-24, exact in float
    const float magnitude = std::ldexp(static_cast<float>(fraction), -24);
    return sign != 0 ? -magnitude : magnitude;
  }
  float f;
  std::memcpy(&f, &out, 4);
  return f;
}

// bfloat16 is the upper half of a float.
float bfloat16_to_float(uint16_t bits) {
  const uint32_t out = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &out, 4);
  return f;
}

// F64 values rounded to float; a finite value beyond float's range is an error, not infinity.
void narrow_f64(const uint8_t* data, int64_t count, float* out, const std::string& file,
                const std::string& tensor) {
  for (int64_t i = 0; i < count; ++i) {
    double v;
    std::memcpy(&v, data + 8 * i, 8);
    if (std::isfinite(v) && std::abs(v) > std::numeric_limits<float>::max()) {
      fail("{}: tensor '{}': F64 value {} at index {} is beyond the range of F32", file, tensor, v,
           i);
    }
    out[i] = static_cast<float>(v);
  }
}

void check_shape(const std::string& file, const TensorEntry& t, const std::vector<int64_t>& shape) {
  if (t.shape != shape) {
    fail("{}: tensor '{}': expected shape {}, found {}", file, t.name, shape_text(shape),
         shape_text(t.shape));
  }
}

// "12", or "2305843009213693953 x 8" when the product passes 2^64.
std::string bytes_needed_text(uint64_t elements, uint64_t element_bytes) {
  if (elements > std::numeric_limits<uint64_t>::max() / element_bytes) {
    return fmt::format("{} x {}", elements, element_bytes);
  }
  return std::to_string(elements * element_bytes);
}

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Parses and validates the JSON header against a data section of `data_bytes` bytes.
void parse_header(std::string_view header, uint64_t data_bytes, const std::string& name,
                  std::map<std::string, std::string>& metadata, std::vector<TensorEntry>& tensors) {
  Json json = parse_json_data(header, name);
  if (json.is_discarded() || !json.is_object()) {
    fail("{}: not a safetensors file: the header is not a JSON object", name);
  }
  for (const auto& [key, value] : json.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) fail("{}: __metadata__ must be an object of strings", name);
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string()) fail("{}: __metadata__.{} must be a string", name, mk);
        metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    if (!value.is_object() || !value.contains("dtype") || !value.contains("shape") ||
        !value.contains("data_offsets")) {
      fail("{}: tensor '{}': expected {{dtype, shape, data_offsets}}", name, key);
    }
    TensorEntry entry;
    entry.name = key;
    const Json& dtype = value["dtype"];
    const Json& shape = value["shape"];
    const Json& offsets = value["data_offsets"];
    if (!dtype.is_string() || dtype_bytes(dtype.get<std::string>()) == 0) {
      fail("{}: tensor '{}': unknown dtype {}", name, key, describe_json(dtype));
    }
    entry.dtype = dtype.get<std::string>();
    if (!shape.is_array()) fail("{}: tensor '{}': shape must be a list", name, key);
    uint64_t elements = 1;
    for (const Json& d : shape) {
      if (!d.is_number_unsigned()) {
        fail("{}: tensor '{}': bad shape: dimension {} is {}, expected an integer >= 0", name, key,
             entry.shape.size(), describe_json(d));
      }
      const uint64_t dim = d.get<uint64_t>();
      if (dim != 0 && elements > (uint64_t{1} << 62) / dim) {
        fail("{}: tensor '{}': shape {} is too large", name, key, shape.dump());
      }
      elements *= dim;
      entry.shape.push_back(static_cast<int64_t>(dim));
    }
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned()) {
      fail("{}: tensor '{}': data_offsets must be [begin, end]", name, key);
    }
    entry.begin = offsets[0].get<uint64_t>();
    entry.end = offsets[1].get<uint64_t>();
    if (entry.begin > entry.end || entry.end > data_bytes) {
      fail("{}: tensor '{}': data_offsets [{}, {}] lie outside the {} bytes of data", name, key,
           entry.begin, entry.end, data_bytes);
    }
    // Divide before multiplying: elements * element_bytes can pass 2^64 and wrap to the size
    // given (2^61 + 1 I64 elements "need" 8 bytes).
    const uint64_t given = entry.end - entry.begin;
    const auto element_bytes = static_cast<uint64_t>(dtype_bytes(entry.dtype));
    if (elements > given / element_bytes || elements * element_bytes != given) {
      fail("{}: tensor '{}': {} {} needs {} bytes, data_offsets give {}", name, key, entry.dtype,
           shape_text(entry.shape), bytes_needed_text(elements, element_bytes), given);
    }
    tensors.push_back(std::move(entry));
  }
  // Tensors must tile the data section exactly: no overlaps, no holes.
  std::vector<const TensorEntry*> by_offset;
  for (const auto& t : tensors) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(), [](const TensorEntry* a, const TensorEntry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t position = 0;
  for (const TensorEntry* t : by_offset) {
    if (t->begin < position) {
      fail("{}: tensor '{}' overlaps the tensor before it (bytes {}..{})", name, t->name, t->begin,
           position);
    }
    if (t->begin > position) {
      fail("{}: {} unused bytes before tensor '{}'", name, t->begin - position, t->name);
    }
    position = t->end;
  }
  if (position != data_bytes) {
    fail("{}: {} bytes of data after the last tensor", name, data_bytes - position);
  }
}

}  // namespace

int64_t TensorEntry::elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

SafetensorsFile SafetensorsFile::parse(std::span<const uint8_t> bytes, const std::string& name) {
  if (bytes.size() < 8) {
    fail("{}: not a safetensors file: {} bytes, expected at least 8", name, bytes.size());
  }
  const uint64_t header_bytes = read_u64_le(bytes.data());
  if (header_bytes > kMaxHeaderBytes || header_bytes > bytes.size() - 8) {
    fail("{}: header length {} goes beyond the file's {} bytes", name, header_bytes, bytes.size());
  }
  SafetensorsFile file;
  file.name_ = name;
  const std::string_view header(reinterpret_cast<const char*>(bytes.data() + 8), header_bytes);
  const uint64_t data_bytes = bytes.size() - 8 - header_bytes;
  parse_header(header, data_bytes, name, file.metadata_, file.tensors_);
  file.data_.assign(bytes.begin() + 8 + static_cast<int64_t>(header_bytes), bytes.end());
  return file;
}

SafetensorsFile SafetensorsFile::read(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("{}: cannot open: {}", path, errno_text(errno));
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail("{}: cannot stat: {}", path, errno_text(errno));
  const uint64_t file_bytes = static_cast<uint64_t>(st.st_size);
  auto read_exactly = [&](uint8_t* out, uint64_t count, uint64_t offset) {
    uint64_t done = 0;
    while (done < count) {
      const ssize_t n = ::pread(fd, out + done, count - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        fail("{}: read failed at byte {}: {}", path, offset + done,
             n < 0 ? errno_text(errno) : "unexpected end of file");
      done += static_cast<uint64_t>(n);
    }
  };
  if (file_bytes < 8)
    fail("{}: not a safetensors file: {} bytes, expected at least 8", path, file_bytes);
  uint8_t prefix[8];
  read_exactly(prefix, 8, 0);
  const uint64_t header_bytes = read_u64_le(prefix);
  if (header_bytes > kMaxHeaderBytes || header_bytes > file_bytes - 8) {
    fail("{}: header length {} goes beyond the file's {} bytes", path, header_bytes, file_bytes);
  }
  std::string header(header_bytes, '\0');
  read_exactly(reinterpret_cast<uint8_t*>(header.data()), header_bytes, 8);
  SafetensorsFile file;
  file.name_ = path;
  const uint64_t data_bytes = file_bytes - 8 - header_bytes;
  parse_header(header, data_bytes, path, file.metadata_, file.tensors_);
  file.data_.resize(data_bytes);
  read_exactly(file.data_.data(), data_bytes, 8 + header_bytes);
  return file;
}

const TensorEntry* SafetensorsFile::find(const std::string& tensor) const {
  for (const auto& t : tensors_) {
    if (t.name == tensor) return &t;
  }
  return nullptr;
}

const TensorEntry& SafetensorsFile::require(const std::string& tensor) const {
  const TensorEntry* t = find(tensor);
  if (t == nullptr) fail("{}: no tensor '{}'", name_, tensor);
  return *t;
}

const std::string& SafetensorsFile::metadata_value(const std::string& key) const {
  auto found = metadata_.find(key);
  if (found == metadata_.end()) fail("{}: __metadata__ has no '{}'", name_, key);
  return found->second;
}

void SafetensorsFile::copy_f32(const std::string& tensor, const std::vector<int64_t>& shape,
                               float* out) const {
  const TensorEntry& t = require(tensor);
  if (t.dtype != "F32")
    fail("{}: tensor '{}': expected dtype F32, found {}", name_, tensor, t.dtype);
  check_shape(name_, t, shape);
  std::memcpy(out, data_.data() + t.begin, t.end - t.begin);
}

void SafetensorsFile::copy_as_f32(const std::string& tensor, const std::vector<int64_t>& shape,
                                  float* out) const {
  const TensorEntry& t = require(tensor);
  if (t.dtype == "F32") return copy_f32(tensor, shape, out);
  if (t.dtype != "F64" && t.dtype != "F16" && t.dtype != "BF16") {
    fail("{}: tensor '{}': expected a float dtype (F32, F64, F16 or BF16), found {}", name_, tensor,
         t.dtype);
  }
  check_shape(name_, t, shape);
  const uint8_t* data = data_.data() + t.begin;
  if (t.dtype == "F64") return narrow_f64(data, t.elements(), out, name_, tensor);
  for (int64_t i = 0; i < t.elements(); ++i) {
    uint16_t bits;
    std::memcpy(&bits, data + 2 * i, 2);
    out[i] = t.dtype == "F16" ? half_to_float(bits) : bfloat16_to_float(bits);
  }
}

std::vector<float> SafetensorsFile::f32(const std::string& tensor) const {
  const TensorEntry& t = require(tensor);
  if (t.dtype != "F32")
    fail("{}: tensor '{}': expected dtype F32, found {}", name_, tensor, t.dtype);
  std::vector<float> out(static_cast<size_t>(t.elements()));
  std::memcpy(out.data(), data_.data() + t.begin, t.end - t.begin);
  return out;
}

std::vector<int64_t> SafetensorsFile::integers(const std::string& tensor) const {
  const TensorEntry& t = require(tensor);
  std::vector<int64_t> out(static_cast<size_t>(t.elements()));
  if (t.dtype == "I64") {
    std::memcpy(out.data(), data_.data() + t.begin, t.end - t.begin);
  } else if (t.dtype == "I32") {
    for (size_t i = 0; i < out.size(); ++i) {
      int32_t v;
      std::memcpy(&v, data_.data() + t.begin + 4 * i, 4);
      out[i] = v;
    }
  } else {
    fail("{}: tensor '{}': expected dtype I64 or I32, found {}", name_, tensor, t.dtype);
  }
  return out;
}

void SafetensorsWriter::add_f32(const std::string& name, std::vector<int64_t> shape,
                                const float* data) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  Pending p{"F32", std::move(shape), std::vector<uint8_t>(static_cast<size_t>(n) * 4)};
  std::memcpy(p.bytes.data(), data, p.bytes.size());
  tensors_[name] = std::move(p);
}

void SafetensorsWriter::add_i64(const std::string& name, std::vector<int64_t> shape,
                                const int64_t* data) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  Pending p{"I64", std::move(shape), std::vector<uint8_t>(static_cast<size_t>(n) * 8)};
  std::memcpy(p.bytes.data(), data, p.bytes.size());
  tensors_[name] = std::move(p);
}

void SafetensorsWriter::write(const std::string& path) const {
  OrderedJson header = OrderedJson::object();
  if (!metadata_.empty()) {
    OrderedJson meta = OrderedJson::object();
    for (const auto& [k, v] : metadata_) meta[k] = v;
    header["__metadata__"] = meta;
  }
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors_) {
    header[name] = {{"dtype", t.dtype},
                    {"shape", t.shape},
                    {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // data starts 8-byte aligned
  std::vector<uint8_t> bytes;
  bytes.reserve(8 + text.size() + offset);
  const uint64_t length = text.size();
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<uint8_t>(length >> (8 * i)));
  bytes.insert(bytes.end(), text.begin(), text.end());
  for (const auto& [name, t] : tensors_) bytes.insert(bytes.end(), t.bytes.begin(), t.bytes.end());
  write_file_atomically(path, bytes);
}

}  // namespace vitsweep::engine
