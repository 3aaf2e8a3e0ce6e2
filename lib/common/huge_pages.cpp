#include "common/huge_pages.hpp"

#include <sys/mman.h>

#include <cstdint>

namespace vitsweep {

void advise_huge_pages(void* data, size_t bytes) {
  constexpr uintptr_t kHugePage = uintptr_t{2} << 20;
  const auto start = reinterpret_cast<uintptr_t>(data);
  const uintptr_t first = (start + kHugePage - 1) & ~(kHugePage - 1);
  const uintptr_t last = (start + bytes) & ~(kHugePage - 1);
  if (data == nullptr || last <= first) return;
  // Errors (EINVAL on a kernel without THP) leave ordinary pages, which work the same.
  madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
}

}  // namespace vitsweep
