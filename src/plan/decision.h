// The deployment-mode decision: the tree (data sensitivity -> private or hybrid; tight budget
// -> SaaS or serverless; customization -> private or hybrid; otherwise industry cloud), each
// branch backed by the numbers that justify it (the utilisation below which serverless beats
// reserved instances, the burst ratio that makes hybrid pay, the device limits that force edge
// quantization). A pure function of the workload and the costed sizing.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "plan/sizing.h"
#include "plan/tco.h"
#include "plan/workload.h"

namespace fathom::plan {

enum class Mode { kSaas, kServerless, kPrivate, kHybrid, kEdge, kIndustryCloud };
const char* mode_name(Mode m);

/// What the edge branch found when the workload names an edge device.
struct EdgeFit {
  std::string device_id;
  std::string requested_format;
  std::optional<std::string>
      fitting_format;          ///< the largest format that fits (and meets the targets if one does)
  bool meets_targets = false;  ///< the fitting format meets TTFT and TPOT there
  std::vector<std::string> tried;  ///< "bf16: 15.2 GiB > 7.4 GiB usable", ...
};

struct Decision {
  Mode mode = Mode::kIndustryCloud;
  CostKind billing = CostKind::kOnDemand;  ///< the cost option the mode is billed as
  std::vector<std::string> reasons;        ///< the explanation, in order
  bool within_budget = true;
  std::string overlay;  ///< deploy/k8s/overlays/<overlay>, "" for none
};

Decision decide(const Workload& w, const Sizing& s, const Tco& tco,
                const std::optional<EdgeFit>& edge);

}  // namespace fathom::plan
