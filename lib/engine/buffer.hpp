// 64-byte aligned float storage, and an arena that hands out named views into one allocation.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace vitsweep::engine {

class FloatBuffer {
 public:
  FloatBuffer() = default;
  explicit FloatBuffer(int64_t size) { resize(size); }

  // Contents are zeroed on every resize.
  void resize(int64_t size) {
    const size_t bytes = (static_cast<size_t>(size) * sizeof(float) + 63) / 64 * 64;
    float* p = bytes ? static_cast<float*>(std::aligned_alloc(64, bytes)) : nullptr;
    if (bytes && p == nullptr) throw std::bad_alloc();
    if (p) std::memset(p, 0, bytes);
    data_.reset(p);
    size_ = size;
  }
  float* data() { return data_.get(); }
  const float* data() const { return data_.get(); }
  int64_t size() const { return size_; }
  float& operator[](int64_t i) { return data_.get()[i]; }
  float operator[](int64_t i) const { return data_.get()[i]; }

 private:
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float, Free> data_;
  int64_t size_ = 0;
};

// Collects (pointer, size) requests, then makes one allocation and points each request into it.
class Arena {
 public:
  void take(float*& pointer, int64_t size) { requests_.emplace_back(&pointer, size); }
  void take_if(bool wanted, float*& pointer, int64_t size) {
    if (wanted)
      take(pointer, size);
    else
      pointer = nullptr;
  }
  void allocate(FloatBuffer& storage) {
    int64_t total = 0;
    for (const auto& r : requests_) total += (r.second + 15) / 16 * 16;
    storage.resize(total);
    int64_t offset = 0;
    for (const auto& r : requests_) {
      *r.first = storage.data() + offset;
      offset += (r.second + 15) / 16 * 16;
    }
    requests_.clear();
  }

 private:
  std::vector<std::pair<float**, int64_t>> requests_;
};

}  // namespace vitsweep::engine
