// What `fathom plan` is asked: the model, the traffic and its daily profile, token lengths,
// latency targets, data sensitivity, budget, customization and site constraints. Read from a
// YAML file (docs/plan.md has every field) and/or command-line flags.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "plan/catalogue.h"
#include "plan/decimal.h"

namespace fathom::plan {

struct TokenLengths {
  int64_t mean = 0;
  int64_t p95 = 0;  ///< sizes the context each sequence may need
};

enum class Sensitivity { kLow, kMedium, kHigh };
enum class Customization { kNone, kAdapters, kFineTuning };
const char* sensitivity_name(Sensitivity s);
const char* customization_name(Customization c);

struct Workload {
  std::string model;                   ///< built-in name or a folder with config.json
  std::optional<std::string> weights;  ///< weight format; default: the checkpoint's
  std::optional<std::string>
      kv_dtype;  ///< default: on CPUs serve's auto (bf16 for a bf16 checkpoint), bf16 elsewhere
  double requests_per_s = 1.0;  ///< daily mean
  std::array<double, 24> hourly = {};  ///< relative load per hour of day, normalised to mean 1
  TokenLengths prompt{1000, 4000};
  TokenLengths output{300, 1000};
  double cached_prompt_share = 0.0;  ///< prompt tokens a SaaS bills at the cache-hit price
  double ttft_ms = 2000;             ///< p95 target for the first token
  double tpot_ms = 100;              ///< p95 target per output token
  Sensitivity sensitivity = Sensitivity::kLow;
  double sensitive_share = 0.0;  ///< requests that must stay on premises (high: 1 unless given)
  std::optional<Decimal> monthly_budget;
  Customization customization = Customization::kNone;
  std::optional<double> site_power_kw;     ///< on-premises power available for the deployment
  std::optional<std::string> edge_device;  ///< a catalogue device the model must run on
  std::string region = "global";
  Currency currency = Currency::kUsd;
  int64_t months = 36;
  double headroom = 0.2;             ///< capacity kept free above the hour's demand
  std::vector<std::string> devices;  ///< catalogue ids to consider (empty: all but edge)

  double peak_factor() const;  ///< max(hourly)
};

/// The profile when none is given: a business day (quiet night, peak 10:00-17:00).
std::array<double, 24> default_hourly_profile();

/// Parses a workload YAML; every bad field is reported at once with its path.
Result<Workload> parse_workload(const std::string& yaml_text, const std::string& source);

/// Checks cross-field rules (p95 >= mean, ranges) after flags were applied.
Status validate_workload(Workload& w);

}  // namespace fathom::plan
