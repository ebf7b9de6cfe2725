#pragma once

namespace mw::cli {

// What prepare_process() found.
struct ProcessStart {
  bool stdout_closed = false;  // descriptor 1 was closed when the program started
};

// Run first thing in main: makes sure descriptors 0, 1 and 2 are open (a closed one gets
// /dev/null, so that no file opened later, such as a lock, becomes standard output and
// receives what is printed), and makes the process undumpable with a core size limit of 0
// (a core file or a ptrace attach would show the password). Never fails.
ProcessStart prepare_process() noexcept;

}  // namespace mw::cli
