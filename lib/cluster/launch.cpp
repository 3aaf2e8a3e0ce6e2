#include "cluster/launch.hpp"

#include <sched.h>

#include <algorithm>
#include <thread>

#include "common/error.hpp"

namespace vitsweep::cluster {

namespace {

// Cores this process may run on, and whether a launcher bound it to fewer than the machine's.
int allowed_cores(bool& bound) {
  const int machine = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) {
    bound = false;
    return machine;
  }
  const int allowed = std::max(1, CPU_COUNT(&set));
  bound = allowed < machine;
  return allowed;
}

}  // namespace

void fit_to_session(TrialConfig& config, bool ranks_given, const MpiSession& session,
                    std::string_view source) {
  if (ranks_given && config.ranks != session.size()) {
    if (!session.active()) {
      fail_usage(
          "{}: ranks={} needs {} MPI ranks: start it with `mpirun -np {} sweep train ...` "
          "(or `srun --mpi=pmix -n {} ...`)",
          source, config.ranks, config.ranks, config.ranks, config.ranks);
    }
    fail_usage(
        "{}: ranks={} but the launcher started {} ranks: give mpirun -np {} (or leave "
        "ranks out: it follows the launcher)",
        source, config.ranks, session.size(), config.ranks);
  }
  config.ranks = session.size();
  validate(config, source);
  if (config.threads == 0) config.threads = default_threads(session);
}

int default_threads(const MpiSession& session) {
  if (!session.active()) return 0;
  bool bound = false;
  const int cores = allowed_cores(bound);
  return std::max(1, bound ? cores : cores / session.node_size());
}

}  // namespace vitsweep::cluster
