// Runs a program (no shell) and captures its standard output; its standard error passes through.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace fathom::cli {

struct ProcessOutput {
  int exit_code = 0;
  std::string stdout_text;
};

/// argv[0] is the program path. Fails (Unavailable) when it cannot be started.
Result<ProcessOutput> run_capture(const std::vector<std::string>& argv);

/// This process's own executable (/proc/self/exe).
std::string self_executable();

}  // namespace fathom::cli
