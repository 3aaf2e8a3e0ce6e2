// Facts about the machine this process runs on.
#pragma once

#include <string>

namespace vitsweep {

// This machine's host name ("localhost" if it has none).
std::string host_name();

// Cores this process may use: the CPU affinity mask's count (what a Slurm allocation or taskset
// gives), at least 1.
int available_cores();

}  // namespace vitsweep
