#include "engine/build_info.hpp"

#include <fmt/format.h>
#include <omp.h>
#include <tbb/task_arena.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <thread>

#include "engine/build_constants.hpp"
#include "engine/git_commit.hpp"

namespace vitsweep::engine {
namespace {

std::string isa_name(dnnl::cpu_isa isa) {
  using I = dnnl::cpu_isa;
  switch (isa) {
    case I::sse41: return "sse41";
    case I::avx: return "avx";
    case I::avx2: return "avx2";
    case I::avx2_vnni: return "avx2_vnni";
    case I::avx512_mic: return "avx512_mic";
    case I::avx512_mic_4ops: return "avx512_mic_4ops";
    case I::avx512_core: return "avx512_core";
    case I::avx512_core_vnni: return "avx512_core_vnni";
    case I::avx512_core_bf16: return "avx512_core_bf16";
    case I::avx512_core_amx: return "avx512_core_amx";
    case I::all: return "all";
    default: return fmt::format("isa#{}", static_cast<int>(isa));
  }
}

}  // namespace

BuildInfo build_info() {
  BuildInfo info;
  info.version = VITSWEEP_VERSION;
  info.git_commit = VITSWEEP_GIT_COMMIT;
  info.build_type = VITSWEEP_BUILD_TYPE;
  const dnnl_version_t* v = dnnl_version();
  info.onednn = fmt::format("{}.{}.{} ({})", v->major, v->minor, v->patch, v->hash);
  info.cpu_isa = isa_name(dnnl::get_effective_cpu_isa());
  info.omp_threads = omp_get_max_threads();
  info.tbb_threads = tbb::this_task_arena::max_concurrency();
  info.hardware_threads = static_cast<int>(std::thread::hardware_concurrency());
  return info;
}

std::string describe(const BuildInfo& info) {
  return fmt::format(
      "sweep {} (commit {}, {} build)\n"
      "oneDNN {}, CPU ISA {}\n"
      "threads: {} oneDNN (OpenMP), {} kernels (TBB), {} hardware\n",
      info.version, info.git_commit, info.build_type, info.onednn, info.cpu_isa, info.omp_threads,
      info.tbb_threads, info.hardware_threads);
}

}  // namespace vitsweep::engine
