// What a program inside a Slurm job can learn about its allocation.
#pragma once

#include <optional>

namespace vitsweep::cluster {

// Seconds left before the job's time limit, from `squeue -h -j $SLURM_JOB_ID -o %L`. Throws Error
// outside a Slurm job or when squeue cannot say; nullopt for a job without a limit (UNLIMITED).
std::optional<double> slurm_seconds_left();

}  // namespace vitsweep::cluster
