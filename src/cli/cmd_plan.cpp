// fathom plan [WORKLOAD.yaml] [--model NAME|DIR] [--rps N] ... [--format text|json]
//             [--chart FILE.svg] [--out-dir DIR]
// fathom plan calibrate ...   (cmd_plan_calibrate.cpp)
// fathom plan models | devices
// Chooses the deployment mode, sizes the hardware and compares the costs of every way to run a
// workload; see docs/plan.md. The work is in src/plan; this file reads inputs, writes outputs.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/args.h"
#include "plan/deploy_files.h"
#include "plan/planner.h"
#include "plan/report.h"

#ifndef FATHOM_SOURCE_DIR
#define FATHOM_SOURCE_DIR ""
#endif

namespace fathom::cli {

Status plan_calibrate(const std::vector<std::string>& argv);

namespace {

void print_help() {
  std::printf(
      "usage: fathom plan [WORKLOAD.yaml] [flags]       choose a mode, size hardware, compare "
      "costs\n"
      "       fathom plan calibrate [--model DIR] [-t N] [--calibration FILE] [--bench-json FILE]\n"
      "       fathom plan models | devices [--catalogue FILE]\n"
      "\n"
      "workload flags (override the YAML; docs/plan.md lists every field):\n"
      "  --model NAME|DIR  --weights FORMAT  --kv-dtype f32|bf16|fp8  --rps N  --requests-per-day "
      "N\n"
      "  --prompt-tokens MEAN[:P95]  --output-tokens MEAN[:P95]  --ttft-ms N  --tpot-ms N\n"
      "  --sensitivity low|medium|high  --sensitive-share F  --budget MONTHLY  --customization "
      "none|adapters|fine_tuning\n"
      "  --edge-device ID  --power-kw N  --currency USD|CNY  --months N  --headroom F  --device "
      "ID[,ID...]\n"
      "inputs: --catalogue FILE (default data/plan/catalogue.yaml)  --calibration FILE (default "
      "%s)\n"
      "outputs: --format text|json  --chart FILE.svg  --out-dir DIR (gateway.yaml, "
      "serve-flags.txt, overlay/)\n"
      "  --serve-url URL  --cloud-url URL  --gateway-data-dir DIR  --gateway-port N  --model-dir "
      "DIR  --overlays-dir PATH\n",
      plan::default_calibration_path().c_str());
}

Result<std::string> read_file(const std::string& path, const std::string& flag) {
  std::ifstream in(path);
  if (!in) return not_found(flag + ": cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out.flush()) return unavailable("cannot write " + path.string());
  return ok_status();
}

// "300" or "300:1000" (mean[:p95]).
Status parse_lengths(const Args& args, const char* flag, plan::TokenLengths& out) {
  const std::optional<std::string> v = args.get(flag);
  if (!v) return ok_status();
  const size_t colon = v->find(':');
  try {
    size_t used = 0;
    out.mean = std::stoll(v->substr(0, colon), &used);
    if (used != v->substr(0, colon).size()) throw std::invalid_argument("x");
    out.p95 = colon == std::string::npos ? out.mean : std::stoll(v->substr(colon + 1), &used);
    if (colon != std::string::npos && used != v->size() - colon - 1)
      throw std::invalid_argument("x");
  } catch (const std::exception&) {
    return invalid_argument(std::string("--") + flag +
                            ": expected MEAN or MEAN:P95 token counts, got '" + *v + "'");
  }
  if (out.mean < 1 || out.mean > 10'000'000 || out.p95 < 1 || out.p95 > 10'000'000)
    return invalid_argument(std::string("--") + flag + ": token counts must be in 1..10000000");
  return ok_status();
}

Status positive(const Args& args, const char* flag, double& out, double max) {
  if (!args.has(flag)) return ok_status();
  FATHOM_ASSIGN_OR_RETURN(out, args.get_double(flag, out));
  if (!(out > 0 && out <= max))
    return invalid_argument(std::string("--") + flag + ": must be in (0, " + std::to_string(max) +
                            "]");
  return ok_status();
}

Status apply_flags(const Args& args, plan::Workload& w) {
  if (auto v = args.get("model")) w.model = *v;
  if (auto v = args.get("weights")) w.weights = *v;
  if (auto v = args.get("kv-dtype")) w.kv_dtype = *v;
  FATHOM_RETURN_IF_ERROR(positive(args, "rps", w.requests_per_s, 1e6));
  if (args.has("requests-per-day")) {
    double rpd = 0;
    FATHOM_RETURN_IF_ERROR(positive(args, "requests-per-day", rpd, 1e11));
    w.requests_per_s = rpd / 86400.0;
  }
  FATHOM_RETURN_IF_ERROR(parse_lengths(args, "prompt-tokens", w.prompt));
  FATHOM_RETURN_IF_ERROR(parse_lengths(args, "output-tokens", w.output));
  FATHOM_RETURN_IF_ERROR(positive(args, "ttft-ms", w.ttft_ms, 3.6e6));
  FATHOM_RETURN_IF_ERROR(positive(args, "tpot-ms", w.tpot_ms, 6e4));
  if (auto v = args.get("sensitivity")) {
    if (*v == "high") {
      w.sensitivity = plan::Sensitivity::kHigh;
      if (w.sensitive_share == 0) w.sensitive_share = 1.0;  // unless the workload says how much
    } else if (*v == "medium") {
      w.sensitivity = plan::Sensitivity::kMedium;
    } else if (*v == "low") {
      w.sensitivity = plan::Sensitivity::kLow;
    } else {
      return invalid_argument("--sensitivity: expected low, medium or high, got '" + *v + "'");
    }
  }
  if (args.has("sensitive-share")) {
    FATHOM_ASSIGN_OR_RETURN(w.sensitive_share, args.get_double("sensitive-share", 0));
    if (!(w.sensitive_share >= 0 && w.sensitive_share <= 1))
      return invalid_argument("--sensitive-share: must be in 0..1");
  }
  if (auto v = args.get("budget")) {
    FATHOM_ASSIGN_OR_RETURN(w.monthly_budget, plan::Decimal::parse(*v, "--budget"));
  }
  if (auto v = args.get("customization")) {
    if (*v == "none")
      w.customization = plan::Customization::kNone;
    else if (*v == "adapters")
      w.customization = plan::Customization::kAdapters;
    else if (*v == "fine_tuning")
      w.customization = plan::Customization::kFineTuning;
    else
      return invalid_argument("--customization: expected none, adapters or fine_tuning, got '" +
                              *v + "'");
  }
  if (auto v = args.get("edge-device")) w.edge_device = *v;
  if (args.has("power-kw")) {
    double kw = 0;
    FATHOM_RETURN_IF_ERROR(positive(args, "power-kw", kw, 1e6));
    w.site_power_kw = kw;
  }
  if (auto v = args.get("currency")) {
    FATHOM_ASSIGN_OR_RETURN(w.currency, plan::parse_currency(*v));
  }
  if (args.has("months")) {
    FATHOM_ASSIGN_OR_RETURN(w.months, args.get_int("months", 36));
    if (w.months < 1 || w.months > 120) return invalid_argument("--months: must be in 1..120");
  }
  if (args.has("headroom")) {
    FATHOM_ASSIGN_OR_RETURN(w.headroom, args.get_double("headroom", 0.2));
    if (!(w.headroom >= 0 && w.headroom <= 10))
      return invalid_argument("--headroom: must be in 0..10");
  }
  if (auto v = args.get("device")) {
    w.devices.clear();
    std::stringstream ss(*v);
    for (std::string id; std::getline(ss, id, ',');)
      if (!id.empty()) w.devices.push_back(id);
  }
  return plan::validate_workload(w);
}

Result<std::optional<plan::Calibration>> load_calibration(const Args& args) {
  const std::string path = args.get_or("calibration", plan::default_calibration_path());
  std::error_code ec;
  if (!args.has("calibration") && !std::filesystem::exists(path, ec))
    return std::optional<plan::Calibration>();
  FATHOM_ASSIGN_OR_RETURN(std::string text, read_file(path, "--calibration"));
  FATHOM_ASSIGN_OR_RETURN(plan::Calibration c, plan::parse_calibration(text, path));
  return std::optional<plan::Calibration>(c);
}

Status write_outputs(const Args& args, const plan::Plan& p) {
  if (auto chart = args.get("chart"))
    FATHOM_RETURN_IF_ERROR(write_file(*chart, plan::render_cost_chart_svg(p)));
  const std::optional<std::string> dir = args.get("out-dir");
  if (!dir) return ok_status();
  plan::DeployOptions o;
  o.serve_url = args.get_or("serve-url", o.serve_url);
  o.cloud_url = args.get_or("cloud-url", o.cloud_url);
  o.data_dir = args.get_or("gateway-data-dir", o.data_dir);
  FATHOM_ASSIGN_OR_RETURN(o.gateway_port, args.get_int("gateway-port", o.gateway_port));
  if (o.gateway_port < 0 || o.gateway_port > 65535)
    return invalid_argument("--gateway-port: must be in 0..65535");
  if (args.has("gateway-port") && o.gateway_port == 0) o.gateway_host = "127.0.0.1";
  o.model_dir = args.get_or("model-dir", "");
  o.overlays_dir = args.get_or("overlays-dir", o.overlays_dir);
  FATHOM_ASSIGN_OR_RETURN(plan::DeployFiles f, plan::make_deploy_files(p, o));
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(*dir, ec);
  if (ec) return unavailable("--out-dir: cannot create " + *dir + ": " + ec.message());
  FATHOM_RETURN_IF_ERROR(write_file(fs::path(*dir) / "gateway.yaml", f.gateway_yaml));
  FATHOM_RETURN_IF_ERROR(
      write_file(fs::path(*dir) / "serve-flags.txt", plan::serve_command_line(f)));
  if (!f.kustomization_yaml.empty()) {
    fs::create_directories(fs::path(*dir) / "overlay", ec);
    FATHOM_RETURN_IF_ERROR(
        write_file(fs::path(*dir) / "overlay" / "kustomization.yaml", f.kustomization_yaml));
  }
  std::fprintf(stderr, "fathom plan: wrote %s/gateway.yaml, serve-flags.txt%s\n", dir->c_str(),
               f.kustomization_yaml.empty() ? "" : ", overlay/kustomization.yaml");
  return ok_status();
}

Status list(const std::string& what, const Args& args) {
  if (what == "models") {
    for (const std::string& n : plan::builtin_model_names()) {
      FATHOM_ASSIGN_OR_RETURN(plan::ModelSpec m, plan::resolve_model(n));
      const plan::WeightFootprint w = plan::weight_footprint(m.config, m.native_format);
      std::printf("%-32s %-24s %8.1fB params %7.1fB active  %s\n", n.c_str(),
                  m.config.architecture.c_str(), w.total_params / 1e9, w.active_params / 1e9,
                  m.native_format.name().c_str());
    }
    return ok_status();
  }
  FATHOM_ASSIGN_OR_RETURN(plan::Catalogue cat,
                          plan::load_catalogue(args.get_or("catalogue", ""), FATHOM_SOURCE_DIR));
  for (const plan::Device& d : cat.devices)
    std::printf("%-20s %-5s %7.0f GiB %7.0f GB/s %7.1f TFLOP/s %5lld W  %s (%s, %s)\n",
                d.id.c_str(), plan::device_kind_name(d.kind), d.memory_gib, d.bandwidth_gbps,
                d.bf16_tflops, static_cast<long long>(d.tdp_w), d.name.c_str(),
                d.provenance.source.c_str(), d.provenance.date.c_str());
  return ok_status();
}

Status plan_main(const std::vector<std::string>& argv) {
  FATHOM_ASSIGN_OR_RETURN(Args args, Args::parse(argv, {"model",
                                                        "weights",
                                                        "kv-dtype",
                                                        "rps",
                                                        "requests-per-day",
                                                        "prompt-tokens",
                                                        "output-tokens",
                                                        "ttft-ms",
                                                        "tpot-ms",
                                                        "sensitivity",
                                                        "sensitive-share",
                                                        "budget",
                                                        "customization",
                                                        "edge-device",
                                                        "power-kw",
                                                        "currency",
                                                        "months",
                                                        "headroom",
                                                        "device",
                                                        "catalogue",
                                                        "calibration",
                                                        "format",
                                                        "chart",
                                                        "out-dir",
                                                        "serve-url",
                                                        "cloud-url",
                                                        "gateway-data-dir",
                                                        "gateway-port",
                                                        "model-dir",
                                                        "overlays-dir"},
                                                 {}));
  if (args.positional().size() == 1 &&
      (args.positional()[0] == "models" || args.positional()[0] == "devices"))
    return list(args.positional()[0], args);
  if (args.positional().size() > 1)
    return invalid_argument("unexpected argument '" + args.positional()[1] + "'");
  plan::Workload w;
  w.hourly = plan::default_hourly_profile();
  if (!args.positional().empty()) {
    const std::string& path = args.positional()[0];
    FATHOM_ASSIGN_OR_RETURN(std::string text, read_file(path, "workload"));
    FATHOM_ASSIGN_OR_RETURN(w, plan::parse_workload(text, path));
  } else if (!args.has("model")) {
    return invalid_argument("give a workload YAML or at least --model (fathom plan --help)");
  }
  FATHOM_RETURN_IF_ERROR(apply_flags(args, w));
  const std::string format = args.get_or("format", "text");
  if (format != "text" && format != "json")
    return invalid_argument("--format: expected text or json, got '" + format + "'");

  plan::PlanInputs in;
  in.workload = w;
  FATHOM_ASSIGN_OR_RETURN(in.model, plan::resolve_model(w.model));
  FATHOM_ASSIGN_OR_RETURN(in.catalogue,
                          plan::load_catalogue(args.get_or("catalogue", ""), FATHOM_SOURCE_DIR));
  FATHOM_ASSIGN_OR_RETURN(in.calibration, load_calibration(args));
  FATHOM_ASSIGN_OR_RETURN(plan::Plan p, plan::make_plan(in));
  const std::string report = format == "json" ? plan::render_json(p) : plan::render_text(p);
  std::fwrite(report.data(), 1, report.size(), stdout);
  return write_outputs(args, p);
}

}  // namespace

int run_plan(const std::vector<std::string>& argv) {
  for (const auto& a : argv)
    if (a == "--help" || a == "-h") {
      print_help();
      return 0;
    }
  const bool calibrate = !argv.empty() && argv[0] == "calibrate";
  const Status s = calibrate ? plan_calibrate({argv.begin() + 1, argv.end()}) : plan_main(argv);
  if (!s.ok()) {
    std::fprintf(stderr, "fathom plan%s: %s\n", calibrate ? " calibrate" : "", s.message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace fathom::cli
