// Large buffers in 2 MiB pages. Debian's kernel gives transparent huge pages only to memory that
// asks for them (/sys/kernel/mm/transparent_hugepage/enabled is "madvise"); without them, filling
// a fresh buffer takes one page fault per 4 KiB. Loading Fashion-MNIST touches about 150 MB of
// fresh memory: 0.95 s with 4 KiB pages, 0.28 s with 2 MiB pages (1 thread, this project's VM),
// which is a quarter of a 16-token trial's time.
#pragma once

#include <cstddef>
#include <vector>

namespace vitsweep {

// Asks the kernel to back the whole 2 MiB pages inside [data, data + bytes) with huge pages when
// they are first touched. A hint: does nothing where the kernel declines or the range holds no
// whole 2 MiB page, and never fails.
void advise_huge_pages(void* data, size_t bytes);

// v.reserve(capacity), with the new storage advised before anything touches it (call it before
// resize or insert: resize's zeroing is the first touch). A vector that already holds `capacity`
// is left as it is.
template <typename T>
void reserve_in_huge_pages(std::vector<T>& v, size_t capacity) {
  if (capacity <= v.capacity()) return;
  v.reserve(capacity);
  // libstdc++'s data() is the start of the allocation also while the vector is empty.
  advise_huge_pages(v.data(), v.capacity() * sizeof(T));
}

}  // namespace vitsweep
