// libFuzzer target for `fathom plan`'s untrusted inputs: the workload YAML, the catalogue YAML,
// the `fathom bench model --json` output and the calibration file. Each must give a Status,
// never throw or crash; the first byte picks the parser. What a parser accepts must hold
// together (a disagreement traps): lengths with p95 >= mean after validation, catalogue
// devices with positive specs and a source and date, calibrations with efficiencies in (0, 2].
#include <cstddef>
#include <cstdint>
#include <string>

#include "plan/calibration.h"
#include "plan/catalogue.h"
#include "plan/workload.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fathom;
  using namespace fathom::plan;
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: {
      Result<Workload> w = parse_workload(text, "fuzz.yaml");
      if (!w.ok()) {
        if (w.status().message().empty()) __builtin_trap();
        return 0;
      }
      Workload v = *w;
      if (validate_workload(v).ok() &&
          (v.prompt.p95 < v.prompt.mean || v.output.p95 < v.output.mean))
        __builtin_trap();
      return 0;
    }
    case 1: {
      Result<Catalogue> c = parse_catalogue(text, "fuzz.yaml");
      if (!c.ok()) return 0;
      for (const Device& d : c->devices)
        if (d.memory_gib <= 0 || d.bandwidth_gbps <= 0 || d.provenance.source.empty() ||
            d.provenance.date.size() != 10)
          __builtin_trap();
      return 0;
    }
    case 2: {
      Result<BenchReport> r = parse_bench_report(text);
      if (!r.ok()) return 0;
      Result<Calibration> c = calibrate_from(*r);
      if (c.ok() && !(c->efficiency.bandwidth > 0 && c->efficiency.bandwidth <= 2))
        __builtin_trap();
      return 0;
    }
    default: {
      Result<Calibration> c = parse_calibration(text, "fuzz.json");
      if (c.ok() && !(c->efficiency.compute > 0 && c->efficiency.compute <= 2)) __builtin_trap();
      return 0;
    }
  }
}
