// Ctrl-C and SIGTERM as a request to stop cleanly: long work polls interrupt_requested() and
// winds down (finishing the current step, recording state). A second signal exits at once.
#pragma once

namespace vitsweep {

void install_interrupt_handlers();
bool interrupt_requested();

}  // namespace vitsweep
