// Ctrl-C and SIGTERM as a request to stop cleanly: long work polls interrupt_requested() and
// winds down (finishing the current step, recording state). A second signal exits at once.
// SIGUSR1 too: mpirun passes it on to every rank, where SIGTERM makes mpirun end its ranks within
// a second; the runner stops a data parallel trial's ranks with it (local_launcher.hpp).
#pragma once

namespace vitsweep {

void install_interrupt_handlers();
bool interrupt_requested();

}  // namespace vitsweep
