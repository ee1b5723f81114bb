#include "plan/workload.h"

#include <algorithm>
#include <numeric>

#include "plan/yaml_fields.h"

namespace fathom::plan {
namespace {

constexpr int64_t kMaxTokens = 10'000'000;

TokenLengths read_lengths(YamlFields& parent, const char* key, TokenLengths fallback,
                          std::vector<std::string>& problems) {
  if (!parent.has(key)) return fallback;
  YamlFields f(parent.child(key), parent.path(key), problems, {"mean", "p95"});
  TokenLengths t;
  t.mean = f.integer("mean", true, 1, kMaxTokens).value_or(fallback.mean);
  t.p95 = f.integer("p95", false, 1, kMaxTokens).value_or(t.mean);
  return t;
}

void read_traffic(YamlFields& root, Workload& w, std::vector<std::string>& problems) {
  if (!root.has("traffic")) return;
  YamlFields f(root.child("traffic"), "traffic", problems,
               {"requests_per_s", "requests_per_day", "hourly_profile"});
  if (auto rps = f.number("requests_per_s", false, 1e-6, 1e6)) w.requests_per_s = *rps;
  if (auto rpd = f.number("requests_per_day", false, 1, 1e11)) {
    if (f.has("requests_per_s"))
      f.problem("requests_per_day", "give requests_per_s or requests_per_day, not both");
    w.requests_per_s = *rpd / 86400.0;
  }
  if (!f.has("hourly_profile")) return;
  const YAML::Node p = f.child("hourly_profile");
  if (!p.IsSequence() || p.size() != 24) {
    f.problem("hourly_profile", "must be a list of 24 relative loads (hour 0..23)");
    return;
  }
  for (size_t h = 0; h < 24; ++h) {
    double v = -1;
    try {
      v = p[h].as<double>();
    } catch (const YAML::Exception&) {
    }
    if (!(v >= 0 && v <= 1e6)) {
      f.problem("hourly_profile[" + std::to_string(h) + "]", "must be a number >= 0");
      return;
    }
    w.hourly[h] = v;
  }
}

Workload read_workload(const YAML::Node& root, std::vector<std::string>& problems) {
  YamlFields f(root, "", problems,
               {"model", "weights", "kv_dtype", "traffic", "prompt_tokens", "output_tokens",
                "cached_prompt_share", "targets", "data_sensitivity", "sensitive_share", "budget",
                "customization", "site", "currency", "months", "headroom", "devices"});
  Workload w;
  w.hourly = default_hourly_profile();
  w.model = f.text("model", true).value_or("");
  w.weights = f.text("weights");
  w.kv_dtype = f.text("kv_dtype");
  read_traffic(f, w, problems);
  w.prompt = read_lengths(f, "prompt_tokens", w.prompt, problems);
  w.output = read_lengths(f, "output_tokens", w.output, problems);
  w.cached_prompt_share = f.number("cached_prompt_share", false, 0, 1).value_or(0);
  if (f.has("targets")) {
    YamlFields t(f.child("targets"), "targets", problems, {"ttft_ms", "tpot_ms", "percentile"});
    w.ttft_ms = t.number("ttft_ms", false, 1, 3.6e6).value_or(w.ttft_ms);
    w.tpot_ms = t.number("tpot_ms", false, 0.1, 6e4).value_or(w.tpot_ms);
    if (t.integer("percentile", false, 50, 99).value_or(95) != 95)
      t.problem("percentile", "only 95 is modelled (lengths are sized at their p95)");
  }
  const std::string s = f.choice("data_sensitivity", {"low", "medium", "high"}).value_or("low");
  w.sensitivity = s == "high"     ? Sensitivity::kHigh
                  : s == "medium" ? Sensitivity::kMedium
                                  : Sensitivity::kLow;
  w.sensitive_share = f.number("sensitive_share", false, 0, 1)
                          .value_or(w.sensitivity == Sensitivity::kHigh ? 1.0 : 0.0);
  if (f.has("budget")) {
    YamlFields b(f.child("budget"), "budget", problems, {"monthly"});
    w.monthly_budget = b.decimal("monthly", true);
  }
  const std::string c =
      f.choice("customization", {"none", "adapters", "fine_tuning"}).value_or("none");
  w.customization = c == "adapters"      ? Customization::kAdapters
                    : c == "fine_tuning" ? Customization::kFineTuning
                                         : Customization::kNone;
  if (f.has("site")) {
    YamlFields st(f.child("site"), "site", problems, {"power_kw", "edge_device", "region"});
    w.site_power_kw = st.number("power_kw", false, 0.001, 1e6);
    w.edge_device = st.text("edge_device");
    w.region = st.text("region").value_or(w.region);
  }
  if (auto cur = f.choice("currency", {"USD", "CNY"}))
    w.currency = *cur == "CNY" ? Currency::kCny : Currency::kUsd;
  w.months = f.integer("months", false, 1, 120).value_or(36);
  w.headroom = f.number("headroom", false, 0, 10).value_or(0.2);
  if (f.has("devices")) {
    const YAML::Node d = f.child("devices");
    if (!d.IsSequence())
      f.problem("devices", "must be a list of catalogue device ids");
    else
      for (const auto& item : d) {
        if (!item.IsScalar()) {
          f.problem("devices", "must be a list of catalogue device ids");
          break;
        }
        w.devices.push_back(item.Scalar());
      }
  }
  return w;
}

}  // namespace

const char* sensitivity_name(Sensitivity s) {
  return s == Sensitivity::kHigh ? "high" : s == Sensitivity::kMedium ? "medium" : "low";
}

const char* customization_name(Customization c) {
  return c == Customization::kAdapters     ? "adapters"
         : c == Customization::kFineTuning ? "fine_tuning"
                                           : "none";
}

double Workload::peak_factor() const { return *std::max_element(hourly.begin(), hourly.end()); }

std::array<double, 24> default_hourly_profile() {
  // Relative requests per hour of a business day; normalised below.
  std::array<double, 24> p = {0.2, 0.15, 0.1, 0.1, 0.1, 0.15, 0.3, 0.6, 1.0, 1.5, 1.8, 1.8,
                              1.6, 1.7,  1.8, 1.8, 1.6, 1.3,  1.0, 0.9, 0.8, 0.6, 0.4, 0.3};
  const double mean = std::accumulate(p.begin(), p.end(), 0.0) / 24.0;
  for (double& v : p) v /= mean;
  return p;
}

Result<Workload> parse_workload(const std::string& yaml_text, const std::string& source) {
  return parse_yaml_document<Workload>(yaml_text, source, read_workload);
}

Status validate_workload(Workload& w) {
  std::vector<std::string> problems;
  if (w.model.empty()) problems.push_back("model: is required");
  if (!(w.requests_per_s > 0 && w.requests_per_s <= 1e6))
    problems.push_back("traffic.requests_per_s: must be in (0, 1e6]");
  if (w.prompt.p95 < w.prompt.mean) problems.push_back("prompt_tokens.p95: must be >= mean");
  if (w.output.p95 < w.output.mean) problems.push_back("output_tokens.p95: must be >= mean");
  const double sum = std::accumulate(w.hourly.begin(), w.hourly.end(), 0.0);
  if (!(sum > 0))
    problems.push_back("traffic.hourly_profile: needs at least one hour with load");
  else
    for (double& v : w.hourly) v *= 24.0 / sum;  // mean 1
  FATHOM_RETURN_IF_ERROR(problems_status("workload", problems));
  return ok_status();
}

}  // namespace fathom::plan
