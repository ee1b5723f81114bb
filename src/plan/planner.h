// The whole plan as one pure function: resolve formats, price every candidate device, pick
// the cheapest, decide the mode, and redo it under changed assumptions for the sensitivity
// table. The CLI reads files and writes outputs; everything between is here.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "plan/calibration.h"
#include "plan/catalogue.h"
#include "plan/decision.h"
#include "plan/model_catalogue.h"
#include "plan/sizing.h"
#include "plan/tco.h"
#include "plan/workload.h"

namespace fathom::plan {

struct PlanInputs {
  Workload workload;
  ModelSpec model;
  Catalogue catalogue;
  std::optional<Calibration> calibration;
};

/// One candidate device, sized and costed.
struct Candidate {
  Device device;
  Efficiency efficiency;
  Sizing sizing;
  std::optional<Tco> tco;  ///< feasible candidates only
};

struct SensitivityRow {
  std::string scenario;   ///< "traffic x 2", ...
  std::string device_id;  ///< the device chosen under it
  std::string mode;
  std::string cheapest_option;
  Decimal cheapest_total;
  Decimal mode_total;
};

struct Plan {
  ModelSpec model;
  WeightFormat format;
  KvDtype kv_dtype = KvDtype::kBf16;
  WeightFootprint weights;
  int64_t kv_bytes_per_token = 0;
  std::vector<Candidate> candidates;  ///< every device tried, in catalogue order
  int64_t chosen = -1;                ///< index into candidates (-1: nothing fits)
  std::optional<EdgeFit> edge;
  Decision decision;
  std::vector<SensitivityRow> sensitivity;
  Workload workload;

  const Candidate* choice() const {
    return chosen < 0 ? nullptr : &candidates[static_cast<size_t>(chosen)];
  }
};

/// `with_sensitivity` = false skips the sensitivity table (used inside it).
Result<Plan> make_plan(const PlanInputs& in, bool with_sensitivity = true);

}  // namespace fathom::plan
