// fathom plan calibrate [--model DIR] [-p 512] [-n 128] [-t THREADS] [--calibration FILE]
//                       [--bench-json FILE]
// Runs `fathom bench model --json` on this machine (a subprocess of this same binary), turns
// its achieved GB/s and GFLOP/s into the roofline's efficiencies and stores them where
// `fathom plan` finds them (default ~/.config/fathom/plan-calibration.json).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/time_format.h"
#include "cli/args.h"
#include "cli/subprocess.h"
#include "plan/calibration.h"

namespace fathom::cli {

Status plan_calibrate(const std::vector<std::string>& argv) {
  FATHOM_ASSIGN_OR_RETURN(
      Args args, Args::parse(argv, {"model", "p", "n", "t", "calibration", "bench-json"}, {}));
  std::string bench_text;
  if (auto file = args.get("bench-json")) {
    std::ifstream in(*file);
    if (!in) return not_found("--bench-json: cannot read " + *file);
    std::stringstream ss;
    ss << in.rdbuf();
    bench_text = ss.str();
  } else {
    std::vector<std::string> cmd = {
        self_executable(),       "bench", "model", "--json", "-p", args.get_or("p", "512"), "-n",
        args.get_or("n", "128"), "-b",    "1"};
    if (auto m = args.get("model")) cmd.insert(cmd.end(), {"--model", *m});
    if (auto t = args.get("t")) cmd.insert(cmd.end(), {"-t", *t});
    std::string line;
    for (const std::string& a : cmd) line += (line.empty() ? "" : " ") + a;
    std::fprintf(stderr, "fathom plan calibrate: running %s\n", line.c_str());
    FATHOM_ASSIGN_OR_RETURN(ProcessOutput out, run_capture(cmd));
    if (out.exit_code != 0)
      return unavailable("'" + line + "' exited with status " + std::to_string(out.exit_code) +
                         " (see its message above)");
    bench_text = out.stdout_text;
  }
  FATHOM_ASSIGN_OR_RETURN(plan::BenchReport report, plan::parse_bench_report(bench_text));
  FATHOM_ASSIGN_OR_RETURN(plan::Calibration cal, plan::calibrate_from(report));
  cal.measured_at = now_rfc3339_ms();
  cal.memory_gib = static_cast<double>(sysconf(_SC_PHYS_PAGES)) *
                   static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0 * 1024.0);
  const std::string path = args.get_or("calibration", plan::default_calibration_path());
  std::error_code ec;
  if (const auto dir = std::filesystem::path(path).parent_path(); !dir.empty())
    std::filesystem::create_directories(dir, ec);
  std::ofstream out(path);
  out << plan::calibration_to_json(cal);
  if (!out.flush()) return unavailable("--calibration: cannot write " + path);
  std::printf("calibrated on %s (%s, %lld threads): read %.1f GB/s, peak %.0f GFLOP/s\n",
              report.model.c_str(), cal.isa.c_str(), static_cast<long long>(cal.threads),
              cal.read_gbps, cal.peak_gflops);
  std::printf("efficiency: decode bandwidth %.3f, prefill compute %.3f -> %s\n",
              cal.efficiency.bandwidth, cal.efficiency.compute, path.c_str());
  return ok_status();
}

}  // namespace fathom::cli
