#include "cluster/slurm.hpp"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "common/error.hpp"
#include "common/text.hpp"

namespace vitsweep::cluster {

std::optional<double> slurm_seconds_left() {
  const char* job = std::getenv("SLURM_JOB_ID");
  if (job == nullptr) fail("--deadline slurm: not inside a Slurm job (SLURM_JOB_ID is not set)");
  const std::string command = fmt::format("squeue -h -j {} -o %L 2>/dev/null", job);
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  if (!pipe) fail("--deadline slurm: cannot run squeue: {}", errno_text(errno));
  char buffer[128] = {};
  std::string text = std::fgets(buffer, sizeof buffer, pipe.get()) ? buffer : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (text == "UNLIMITED" || text == "NOT_SET") return std::nullopt;
  const auto seconds = parse_duration(text);
  if (!seconds) {
    fail(
        "--deadline slurm: squeue -j {} -o %L gave \"{}\", expected a time left such as "
        "1-02:03:04",
        job, text);
  }
  return seconds;
}

}  // namespace vitsweep::cluster
