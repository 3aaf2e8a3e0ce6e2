// Large buffers in 2 MiB pages. Debian's kernel gives transparent huge pages only to memory that
// asks for them (/sys/kernel/mm/transparent_hugepage/enabled is "madvise"); without them, filling
// a fresh buffer takes one page fault per 4 KiB. Loading Fashion-MNIST touches about 150 MB of
// fresh memory: 0.91-0.98 s with 4 KiB pages, 0.26-0.28 s with 2 MiB pages (1 thread, this
// project's VM), against 4.6 s for a whole 5-epoch trial at 16 tokens (README, Performance).
#pragma once

#include <cstddef>
#include <vector>

namespace vitsweep {

// Asks the kernel to back the whole 2 MiB pages inside [data, data + bytes) with huge pages when
// they are first touched. A hint: does nothing where the kernel declines or the range holds no
// whole 2 MiB page, and never fails.
void advise_huge_pages(void* data, size_t bytes);

// v.reserve(capacity), with the new storage advised before the vector's next writes (call it
// before resize or insert: resize's zeroing is the first touch). Elements the vector already
// holds are copied by reserve before the advice, so their pages come as they come. A vector
// that already holds `capacity` is left as it is.
template <typename T>
void reserve_in_huge_pages(std::vector<T>& v, size_t capacity) {
  if (capacity <= v.capacity()) return;
  v.reserve(capacity);
  // data() of an empty vector with capacity is the start of the allocation in libstdc++ (and
  // libc++ and MSVC); the standard does not promise it, and huge_pages_test would catch a
  // library where it is not.
  advise_huge_pages(v.data(), v.capacity() * sizeof(T));
}

}  // namespace vitsweep
