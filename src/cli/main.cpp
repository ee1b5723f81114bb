// fathom: one binary, many subcommands (see commands.cpp).
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli/command.h"

namespace {

void print_usage() {
  std::printf("usage: fathom <command> [flags]\n\ncommands:\n");
  for (const auto& c : fathom::cli::commands()) std::printf("  %-14s %s\n", c.name, c.summary);
  std::printf("\nRun 'fathom <command> --help' for a command's flags.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    print_usage();
    return argc < 2 ? 2 : 0;
  }
  std::vector<std::string> args(argv + 2, argv + argc);
  for (const auto& c : fathom::cli::commands())
    if (c.name == std::string(argv[1])) return c.run(args);
  std::fprintf(stderr, "fathom: unknown command '%s'\n\n", argv[1]);
  print_usage();
  return 2;
}
