#include "cli/command.h"

namespace fathom::cli {

// One function per subcommand, each in its own cmd_*.cpp file.
int run_logits(const std::vector<std::string>& args);
int run_generate(const std::vector<std::string>& args);

const std::vector<Command>& commands() {
  static const std::vector<Command> kCommands = {
      {"logits", "write the logits of a token sequence to a safetensors file", &run_logits},
      {"generate", "generate tokens from a prompt", &run_generate},
  };
  return kCommands;
}

}  // namespace fathom::cli
