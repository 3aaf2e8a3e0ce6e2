// What this binary is and what it will run on: for `sweep --version`, logs and checkpoints.
#pragma once

#include <string>

namespace vitsweep::engine {

struct BuildInfo {
  std::string version;       // "0.1.0"
  std::string git_commit;    // short hash at build time (+"-modified"), or "unknown"
  std::string build_type;    // "Release"
  std::string onednn;        // "2.6.3 (git hash)"
  std::string cpu_isa;       // the ISA oneDNN dispatches to, e.g. "avx512_core_bf16"
  int omp_threads = 0;       // oneDNN's (OpenMP) pool size
  int tbb_threads = 0;       // our kernels' (TBB) pool size
  int hardware_threads = 0;  // what the OS reports
};

BuildInfo build_info();

// Multi-line human text for --version.
std::string describe(const BuildInfo& info);

}  // namespace vitsweep::engine
