// Calibration: the efficiencies the roofline uses for this machine, measured by
// `fathom bench model --json` (run by `fathom plan calibrate`) and kept in a small JSON file.
// efficiency = achieved / roofline: decode GB/s of weights read over the machine's measured
// read bandwidth (batch 1), prefill GFLOP/s over its peak GFLOP/s.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "plan/catalogue.h"
#include "plan/sizing.h"

namespace fathom::plan {

/// One result row of `fathom bench model --json`.
struct BenchResult {
  std::string test;  ///< "pp512", "tg128", ...
  int64_t batch = 0;
  double tokens_per_s = 0, gbps = 0, gflops = 0;
};

/// The whole `fathom bench model --json` document.
struct BenchReport {
  std::string model, isa;
  int64_t threads = 0;
  int64_t weights_bytes = 0;
  double read_gbps = 0, peak_gflops = 0;
  std::vector<BenchResult> results;

  /// The decode (tg*) row at `batch`, or nullptr.
  const BenchResult* decode(int64_t batch) const;
  /// The prefill (pp*) row with the largest batch, or nullptr.
  const BenchResult* prefill() const;
};

/// Parses and validates the bench JSON (every field named in errors).
Result<BenchReport> parse_bench_report(const std::string& json_text);

struct Calibration {
  std::string measured_at;  ///< UTC, ISO 8601
  std::string bench_model;
  std::string isa;
  int64_t threads = 0;
  double read_gbps = 0;  ///< the machine's measured read bandwidth
  double peak_gflops = 0;
  double memory_gib = 0;  ///< this machine's RAM
  Efficiency efficiency;
};

/// efficiency.bandwidth = tg batch-1 gbps / read_gbps; efficiency.compute = pp gflops / peak.
Result<Calibration> calibrate_from(const BenchReport& r);

std::string calibration_to_json(const Calibration& c);
Result<Calibration> parse_calibration(const std::string& json_text, const std::string& source);

/// ~/.config/fathom/plan-calibration.json ($XDG_CONFIG_HOME respected).
std::string default_calibration_path();

/// This machine as a catalogue device (id "this-machine", kind cpu, no prices), from a
/// calibration: bandwidth and FLOP/s as measured, efficiencies as calibrated.
Device this_machine(const Calibration& c);

}  // namespace fathom::plan
