// Happens-before edges that ThreadSanitizer cannot see by itself. TBB and OpenMP synchronise
// inside Debian's libtbb and libgomp, which are not built with -fsanitize=thread, so to TSan a
// task a worker thread runs is unordered with the code that spawned it and the code that waited
// for it, and every parallel loop looks like a data race. In a TSan build (-DVITSWEEP_TSAN=ON)
// these calls tell it: release(x) in one thread happens before every later acquire(x) in another.
// Elsewhere they compile to nothing.
#pragma once

#if VITSWEEP_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace vitsweep::tsan {

inline void release([[maybe_unused]] const void* sync) {
#if VITSWEEP_TSAN
  __tsan_release(const_cast<void*>(sync));
#endif
}

inline void acquire([[maybe_unused]] const void* sync) {
#if VITSWEEP_TSAN
  __tsan_acquire(const_cast<void*>(sync));
#endif
}

}  // namespace vitsweep::tsan
