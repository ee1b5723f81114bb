#include "plan/calibration.h"

#include <cstdlib>
#include <nlohmann/json.hpp>

namespace fathom::plan {
namespace {

using nlohmann::json;

Status need(const json& j, const char* key, json::value_t type, const std::string& where) {
  if (!j.contains(key)) return invalid_argument(where + key + ": is required");
  const json& v = j.at(key);
  const bool ok = type == json::value_t::number_float     ? v.is_number()
                  : type == json::value_t::number_integer ? v.is_number_integer()
                                                          : v.type() == type;
  if (!ok) return invalid_argument(where + key + ": has the wrong type (got " + v.dump() + ")");
  if (v.is_number() && !(v.get<double>() >= 0))
    return invalid_argument(where + key + ": must not be negative");
  return ok_status();
}

}  // namespace

const BenchResult* BenchReport::decode(int64_t batch) const {
  for (const BenchResult& r : results)
    if (r.test.rfind("tg", 0) == 0 && r.batch == batch) return &r;
  return nullptr;
}

const BenchResult* BenchReport::prefill() const {
  const BenchResult* best = nullptr;
  for (const BenchResult& r : results)
    if (r.test.rfind("pp", 0) == 0 && (!best || r.batch > best->batch)) best = &r;
  return best;
}

Result<BenchReport> parse_bench_report(const std::string& text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return invalid_argument("bench model output: not a JSON object");
  const std::string w = "bench model output: ";
  FATHOM_RETURN_IF_ERROR(need(j, "model", json::value_t::string, w));
  FATHOM_RETURN_IF_ERROR(need(j, "threads", json::value_t::number_integer, w));
  FATHOM_RETURN_IF_ERROR(need(j, "isa", json::value_t::string, w));
  FATHOM_RETURN_IF_ERROR(need(j, "weights_bytes", json::value_t::number_integer, w));
  FATHOM_RETURN_IF_ERROR(need(j, "machine", json::value_t::object, w));
  FATHOM_RETURN_IF_ERROR(
      need(j.at("machine"), "read_gbps", json::value_t::number_float, w + "machine."));
  FATHOM_RETURN_IF_ERROR(
      need(j.at("machine"), "peak_gflops", json::value_t::number_float, w + "machine."));
  FATHOM_RETURN_IF_ERROR(need(j, "results", json::value_t::array, w));
  BenchReport r;
  r.model = j.at("model").get<std::string>();
  r.threads = j.at("threads").get<int64_t>();
  r.isa = j.at("isa").get<std::string>();
  r.weights_bytes = j.at("weights_bytes").get<int64_t>();
  r.read_gbps = j.at("machine").at("read_gbps").get<double>();
  r.peak_gflops = j.at("machine").at("peak_gflops").get<double>();
  const json& rows = j.at("results");
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::string where = w + "results[" + std::to_string(i) + "].";
    if (!rows[i].is_object())
      return invalid_argument(where.substr(0, where.size() - 1) + ": must be an object");
    FATHOM_RETURN_IF_ERROR(need(rows[i], "test", json::value_t::string, where));
    FATHOM_RETURN_IF_ERROR(need(rows[i], "batch", json::value_t::number_integer, where));
    for (const char* k : {"tokens_per_s", "gbps", "gflops"})
      FATHOM_RETURN_IF_ERROR(need(rows[i], k, json::value_t::number_float, where));
    r.results.push_back({rows[i].at("test").get<std::string>(), rows[i].at("batch").get<int64_t>(),
                         rows[i].at("tokens_per_s").get<double>(), rows[i].at("gbps").get<double>(),
                         rows[i].at("gflops").get<double>()});
  }
  return r;
}

Result<Calibration> calibrate_from(const BenchReport& r) {
  const BenchResult* tg = r.decode(1);
  const BenchResult* pp = r.prefill();
  if (!tg) return invalid_argument("bench model output: no tg result at batch 1 (run with -b 1)");
  if (!pp) return invalid_argument("bench model output: no pp (prefill) result");
  if (r.read_gbps <= 0 || r.peak_gflops <= 0)
    return invalid_argument(
        "bench model output: machine.read_gbps and peak_gflops must be positive");
  Calibration c;
  c.bench_model = r.model;
  c.isa = r.isa;
  c.threads = r.threads;
  c.read_gbps = r.read_gbps;
  c.peak_gflops = r.peak_gflops;
  c.efficiency.bandwidth = tg->gbps / r.read_gbps;
  c.efficiency.compute = pp->gflops / r.peak_gflops;
  if (!(c.efficiency.bandwidth > 0 && c.efficiency.bandwidth <= 2 && c.efficiency.compute > 0 &&
        c.efficiency.compute <= 2))
    return invalid_argument("bench model output: implausible efficiencies (bandwidth " +
                            std::to_string(c.efficiency.bandwidth) + ", compute " +
                            std::to_string(c.efficiency.compute) + ")");
  return c;
}

std::string calibration_to_json(const Calibration& c) {
  json j = {{"measured_at", c.measured_at},
            {"bench_model", c.bench_model},
            {"isa", c.isa},
            {"threads", c.threads},
            {"read_gbps", c.read_gbps},
            {"peak_gflops", c.peak_gflops},
            {"memory_gib", c.memory_gib},
            {"bandwidth_efficiency", c.efficiency.bandwidth},
            {"compute_efficiency", c.efficiency.compute}};
  return j.dump(2) + "\n";
}

Result<Calibration> parse_calibration(const std::string& text, const std::string& source) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return invalid_argument(source + ": not a JSON object");
  const std::string w = source + ": ";
  for (const char* k :
       {"read_gbps", "peak_gflops", "memory_gib", "bandwidth_efficiency", "compute_efficiency"})
    FATHOM_RETURN_IF_ERROR(need(j, k, json::value_t::number_float, w));
  for (const char* k : {"measured_at", "bench_model", "isa"})
    FATHOM_RETURN_IF_ERROR(need(j, k, json::value_t::string, w));
  FATHOM_RETURN_IF_ERROR(need(j, "threads", json::value_t::number_integer, w));
  Calibration c;
  c.measured_at = j.at("measured_at").get<std::string>();
  c.bench_model = j.at("bench_model").get<std::string>();
  c.isa = j.at("isa").get<std::string>();
  c.threads = j.at("threads").get<int64_t>();
  c.read_gbps = j.at("read_gbps").get<double>();
  c.peak_gflops = j.at("peak_gflops").get<double>();
  c.memory_gib = j.at("memory_gib").get<double>();
  c.efficiency = {j.at("bandwidth_efficiency").get<double>(),
                  j.at("compute_efficiency").get<double>()};
  if (!(c.efficiency.bandwidth > 0 && c.efficiency.bandwidth <= 2 && c.efficiency.compute > 0 &&
        c.efficiency.compute <= 2 && c.read_gbps > 0 && c.peak_gflops > 0 && c.memory_gib > 0))
    return invalid_argument(w + "efficiencies must be in (0, 2] and the machine numbers positive");
  return c;
}

std::string default_calibration_path() {
  if (const char* x = std::getenv("XDG_CONFIG_HOME"); x && *x)
    return std::string(x) + "/fathom/plan-calibration.json";
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.config/fathom/plan-calibration.json";
}

Device this_machine(const Calibration& c) {
  Device d;
  d.id = "this-machine";
  d.name = "this machine (" + c.isa + ", " + std::to_string(c.threads) + " threads, calibrated " +
           c.measured_at + ")";
  d.kind = DeviceKind::kCpu;
  d.memory_gib = c.memory_gib;
  d.bandwidth_gbps = c.read_gbps;
  d.bf16_tflops = c.peak_gflops / 1000.0;
  d.tdp_w = 300;
  d.max_per_node = 1;
  d.bandwidth_efficiency = c.efficiency.bandwidth;
  d.compute_efficiency = c.efficiency.compute;
  d.provenance = {"fathom plan calibrate (fathom bench model on " + c.bench_model + ")",
                  c.measured_at.substr(0, 10)};
  return d;
}

}  // namespace fathom::plan
