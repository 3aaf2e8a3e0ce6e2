#include "cluster/mpi_session.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <exception>
#include <thread>
#include <vector>

#include "common/error.hpp"

namespace vitsweep::cluster {

namespace {

std::string host_name() {
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "unknown";
  return name;
}

}  // namespace

int simulated_ranks_per_node() {
  const char* value = std::getenv("VITSWEEP_RANKS_PER_NODE");
  if (value == nullptr || *value == '\0') return 0;
  char* end = nullptr;
  const long k = std::strtol(value, &end, 10);
  if (*end != '\0' || k < 1 || k > INT_MAX) {
    fail_usage("VITSWEEP_RANKS_PER_NODE='{}': expected a whole number of ranks, 1 or more", value);
  }
  return static_cast<int>(k);
}

bool started_by_mpi_launcher() {
  for (const char* variable : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"}) {
    if (std::getenv(variable) != nullptr) return true;
  }
  return false;
}

void check_mpi(int code, std::string_view what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) {
    fail("{}: MPI error code {}", what, code);
  }
  fail("{}: {}", what, std::string_view(text, static_cast<size_t>(length)));
}

MpiSession::MpiSession() : host_(host_name()), exceptions_at_start_(std::uncaught_exceptions()) {
  if (!started_by_mpi_launcher()) return;
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) fail("MPI is already initialised: one MpiSession per process");
  int provided = 0;
  // Errors before MPI_Init completes abort the process (MPI's rule); the launcher reports them.
  check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  active_ = true;
  world_ = MPI_COMM_WORLD;
  // Return codes instead of aborting, for this communicator and those split from it.
  check_mpi(MPI_Comm_set_errhandler(world_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  if (provided < MPI_THREAD_FUNNELED) {
    fail("MPI_Init_thread: this MPI library gives thread level {}, we need MPI_THREAD_FUNNELED",
         provided);
  }
  check_mpi(MPI_Comm_rank(world_, &rank_), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(world_, &size_), "MPI_Comm_size");
  if (const int k = simulated_ranks_per_node(); k > 0) {
    check_mpi(MPI_Comm_split(world_, rank_ / k, rank_, &node_), "MPI_Comm_split (simulated nodes)");
  } else {
    check_mpi(MPI_Comm_split_type(world_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node_),
              "MPI_Comm_split_type");
  }
  check_mpi(MPI_Comm_rank(node_, &node_rank_), "MPI_Comm_rank (node)");
  check_mpi(MPI_Comm_size(node_, &node_size_), "MPI_Comm_size (node)");
  int first_on_node = node_rank_ == 0 ? 1 : 0;
  check_mpi(MPI_Allreduce(&first_on_node, &node_count_, 1, MPI_INT, MPI_SUM, world_),
            "MPI_Allreduce (node count)");
}

MpiSession::~MpiSession() {
  if (std::uncaught_exceptions() > exceptions_at_start_) return;
  finalize();
}

void MpiSession::finalize() {
  if (!active_) return;
  active_ = false;
  MPI_Comm_free(&node_);
  MPI_Finalize();
}

double wait_all(std::span<MPI_Request> requests, std::string_view what) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  // Back to back for the first 50 us (a collective that is nearly done), then sleeps growing
  // from 20 us to 0.5 ms: a long wait costs ~1000 MPI_Testall calls a second.
  auto pause = std::chrono::microseconds(20);
  while (true) {
    int done = 0;
    check_mpi(
        MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE),
        what);
    if (done) break;
    if (Clock::now() - start < std::chrono::microseconds(50)) continue;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(500));
  }
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void barrier(MPI_Comm comm) {
  MPI_Request request = MPI_REQUEST_NULL;
  check_mpi(MPI_Ibarrier(comm, &request), "MPI_Ibarrier");
  wait_all({&request, 1}, "MPI_Ibarrier");
}

std::vector<uint64_t> gather_all(MPI_Comm comm, uint64_t value) {
  int size = 0;
  check_mpi(MPI_Comm_size(comm, &size), "MPI_Comm_size");
  std::vector<uint64_t> values(static_cast<size_t>(size));
  MPI_Request request = MPI_REQUEST_NULL;
  check_mpi(MPI_Iallgather(&value, 1, MPI_UINT64_T, values.data(), 1, MPI_UINT64_T, comm, &request),
            "MPI_Iallgather");
  wait_all({&request, 1}, "MPI_Iallgather");
  return values;
}

}  // namespace vitsweep::cluster
