// A fathom subcommand: `fathom NAME args...`. The table of commands lives in commands.cpp.
#pragma once

#include <string>
#include <vector>

namespace fathom::cli {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>& args);  // returns the process exit code
};

/// Every subcommand, in the order `fathom --help` lists them.
const std::vector<Command>& commands();

}  // namespace fathom::cli
