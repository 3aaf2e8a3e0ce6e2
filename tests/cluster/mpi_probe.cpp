// A program for mpi_session_test to start under mpirun. Each rank prints one line of what its
// MpiSession says, then does what the first argument asks:
//   info        gather every rank's number, pass a barrier, print them (rank 0)
//   error       make an MPI call fail (a broadcast from a root that does not exist) and print the
//               vitsweep::Error it became
//   fail RANK   RANK throws while the others wait in a barrier: the job must end, not hang
#include <fmt/format.h>

#include <cstdio>
#include <string>

#include "cluster/mpi_session.hpp"
#include "common/error.hpp"

namespace {

void run(const std::string& mode, int failing_rank) {
  vitsweep::cluster::MpiSession session;
  fmt::print("rank {} size {} node_rank {} node_size {} nodes {} active {} host {}\n",
             session.rank(), session.size(), session.node_rank(), session.node_size(),
             session.node_count(), session.active(), session.host());
  std::fflush(stdout);
  if (mode == "info") {
    const auto ranks = vitsweep::cluster::gather_all(session.world(), 100 + session.rank());
    vitsweep::cluster::barrier(session.world());
    if (session.rank() == 0) fmt::print("gathered {}\n", fmt::join(ranks, ","));
  } else if (mode == "error") {
    int value = 0;
    try {
      vitsweep::cluster::check_mpi(MPI_Bcast(&value, 1, MPI_INT, session.size(), session.world()),
                                   "MPI_Bcast");
      fmt::print("no error\n");
    } catch (const vitsweep::Error& e) {
      fmt::print("caught: {}\n", e.what());
    }
  } else if (mode == "fail") {
    if (session.rank() == failing_rank) vitsweep::fail("rank {} failed on purpose", failing_rank);
    vitsweep::cluster::barrier(session.world());
    fmt::print("rank {} passed the barrier\n", session.rank());
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "info";
  try {
    run(mode, argc > 2 ? std::stoi(argv[2]) : -1);
  } catch (const vitsweep::Error& e) {
    std::fprintf(stderr, "mpi_probe: %s\n", e.what());
    return 1;
  }
  return 0;
}
