// lora_fixture: makes test adapters and merged oracle checkpoints for tests/e2e.
//   lora_fixture adapter BASE_DIR OUT_DIR SEED [RANK] [TARGETS]  (TARGETS: comma-separated)
//   lora_fixture merge BASE_DIR ADAPTER_DIR OUT_DIR
#include <cstdio>
#include <sstream>
#include <string>

#include "support/lora_fixture.h"

int main(int argc, char** argv) {
  using fathom::testing::RandomAdapterSpec;
  const std::string cmd = argc > 1 ? argv[1] : "";
  fathom::Status s = fathom::invalid_argument(
      "usage: lora_fixture adapter BASE OUT SEED [RANK] [TARGETS] | merge BASE ADAPTER OUT");
  if (cmd == "adapter" && argc >= 5) {
    RandomAdapterSpec spec;
    spec.seed = std::stoull(argv[4]);
    if (argc > 5) spec.rank = std::stoll(argv[5]);
    if (argc > 6) {
      spec.target_modules.clear();
      std::stringstream in(argv[6]);
      for (std::string t; std::getline(in, t, ',');) spec.target_modules.push_back(t);
    }
    s = fathom::testing::write_random_adapter(argv[2], argv[3], spec);
  } else if (cmd == "merge" && argc == 5) {
    s = fathom::testing::write_merged_checkpoint(argv[2], argv[3], argv[4]);
  }
  if (!s.ok()) {
    std::fprintf(stderr, "lora_fixture: %s\n", s.to_string().c_str());
    return 1;
  }
  return 0;
}
