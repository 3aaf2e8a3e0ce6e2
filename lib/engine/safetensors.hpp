// The safetensors format (https://huggingface.co/docs/safetensors): 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {str: str}}, then raw
// little-endian tensor data. The reader checks the header length, every dtype, shape and offset
// (inside the data, no overlaps, no holes) against the file size before it allocates the data.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace vitsweep::engine {

struct TensorEntry {
  std::string name;
  std::string dtype;  // F32, F64, I64, I32, U8, F16, BF16, ...
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte offsets into the data section
  int64_t elements() const;
};

class SafetensorsFile {
 public:
  // Reads and validates a file; errors name the file and what is wrong.
  static SafetensorsFile read(const std::string& path);
  // The same from bytes in memory (for fuzzing and tests); `name` labels errors.
  static SafetensorsFile parse(std::span<const uint8_t> bytes, const std::string& name);

  const std::string& name() const { return name_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::vector<TensorEntry>& tensors() const { return tensors_; }
  const TensorEntry* find(const std::string& tensor) const;
  // The metadata value, or an Error naming the file and the missing key.
  const std::string& metadata_value(const std::string& key) const;

  // Copies tensor `tensor` (dtype F32, exactly `shape`) into out; errors name expected vs found.
  void copy_f32(const std::string& tensor, const std::vector<int64_t>& shape, float* out) const;
  // The same for any float dtype, converted to float: F16 and BF16 exactly, F64 rounded to
  // nearest (a finite value beyond float's range is an error naming the tensor and the value).
  void copy_as_f32(const std::string& tensor, const std::vector<int64_t>& shape, float* out) const;
  std::vector<float> f32(const std::string& tensor) const;
  // I64 or I32 as int64.
  std::vector<int64_t> integers(const std::string& tensor) const;

 private:
  const TensorEntry& require(const std::string& tensor) const;
  std::string name_;
  std::map<std::string, std::string> metadata_;
  std::vector<TensorEntry> tensors_;
  std::vector<uint8_t> data_;
};

class SafetensorsWriter {
 public:
  void add_f32(const std::string& name, std::vector<int64_t> shape, const float* data);
  void add_i64(const std::string& name, std::vector<int64_t> shape, const int64_t* data);
  void set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }
  // Writes `path` atomically: a temporary file in the same folder, fsync, rename.
  void write(const std::string& path) const;

 private:
  struct Pending {
    std::string dtype;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;
  };
  std::map<std::string, Pending> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace vitsweep::engine
