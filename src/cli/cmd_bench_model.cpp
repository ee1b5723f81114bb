// fathom bench model --model DIR [-p 512] [-n 128] [-b 1,8,32] [-t THREADS] [--depth N]
//                    [-r REPS] [--json]
// llama-bench for fathom: loads a model folder and prints prefill and decode tokens/s, the
// time per op, and the achieved FLOP/s and GB/s next to this machine's measured limits
// (src/engine/model_bench.h).
#include <cstdio>
#include <cstdlib>
#include <map>

#include "base/thread_pool.h"
#include "cli/args.h"
#include "engine/model_bench.h"
#include "kernels/cpu/machine_probe.h"
#include "kernels/linear_weight.h"
#include "model/model.h"

namespace fathom::cli {
namespace {

void print_help() {
  std::printf(
      "usage: fathom bench model --model DIR [-p 512[,128...]] [-n 128] [-b 1[,8,32...]]\n"
      "                          [-t THREADS] [--depth N] [-r REPS] [--json]\n"
      "                          [--quantization auto|none|int8|int4|fp8]\n"
      "                          [--activations exact|reduced] [--no-weight-cache]\n"
      "                          [--no-huge-pages] [--no-bf16-pack] [--no-int4-panel]\n"
      "                          [--kv-cache-dtype auto|float32|bf16|fp8]   (as serve)\n"
      "  -p, --prompt   prompt lengths: one prefill test (ppN) each; 0 skips prefill\n"
      "  -n, --gen      tokens per stream in the decode tests (tgN); 0 skips decode\n"
      "  -b, --batch    concurrent decode streams, one tgN test each\n"
      "  -t, --threads  compute threads (default: all cores; FATHOM_NUM_THREADS)\n"
      "  --depth        tokens already in each sequence's cache when a test starts\n"
      "  -r, --reps     timed repetitions per test (figures are their mean)\n"
      "  --no-weight-cache  quantize / repack at every load instead of mapping the cache file\n"
      "                 kept beside the checkpoint (the load log line says hit or miss)\n"
      "  --no-huge-pages  read the weights from the file mapping (4 KiB pages) instead of a\n"
      "                 copy in transparent huge pages (as serve)\n"
      "  --no-bf16-pack   decode reads bf16 weights as stored instead of a copy packed\n"
      "                 losslessly into 12 bits per value, and batches and prefill with\n"
      "                 --activations reduced instead of a copy interleaved into their\n"
      "                 kernel's tiles (AVX2 / AVX-512 BF16 CPUs; as serve)\n"
      "  --no-int4-panel  int4 weights are read as stored instead of a copy interleaved into\n"
      "                 their kernel's tiles (AVX-512 VNNI CPUs, --activations reduced; as serve)\n"
      "  FATHOM_CPU_ISA=scalar|avx2|avxvnni|avx512|avx512vnni|neon|dotprod|i8mm caps the kernels' "
      "instruction set.\n");
}

/// llama-bench's short flags, spelled as ours.
std::vector<std::string> long_flags(const std::vector<std::string>& argv) {
  static const std::map<std::string, std::string> kShort = {{"-p", "--prompt"},
                                                            {"-n", "--gen"},
                                                            {"-b", "--batch"},
                                                            {"-t", "--threads"},
                                                            {"-r", "--reps"}};
  std::vector<std::string> out;
  for (const auto& a : argv) {
    auto it = kShort.find(a);
    out.push_back(it == kShort.end() ? a : it->second);
  }
  return out;
}

// The instruction the linear kernels multiply most of the model's weight bytes with: with
// kReduced activations, vdpbf16ps for bf16 weights and vpdpbusd for integer ones (AVX2:
// vpmaddubsw + vpmaddwd; where the CPU has them, measure_dot_peak_gflops says 0 otherwise),
// else fp32 FMA.
kernels::cpu::DotPeak dot_peak_of(model::Model& m, kernels::ActivationPrecision act) {
  using kernels::WeightFormat;
  if (act != kernels::ActivationPrecision::kReduced) return kernels::cpu::DotPeak::kFma;
  int64_t bf16 = 0, integer = 0, other = 0;
  m.for_each_linear([&](kernels::LinearWeight& w) {
    const int64_t b = w.size_bytes();
    if (w.format == WeightFormat::kBF16)
      bf16 += b;
    else if (w.format == WeightFormat::kInt8Channel || w.format == WeightFormat::kInt4Grouped ||
             w.format == WeightFormat::kGgml)
      integer += b;
    else
      other += b;
  });
  if (bf16 >= integer && bf16 >= other) return kernels::cpu::DotPeak::kBf16;
  return integer >= other ? kernels::cpu::DotPeak::kInt8 : kernels::cpu::DotPeak::kFma;
}

Status bench_model_main(const std::vector<std::string>& argv) {
  FATHOM_ASSIGN_OR_RETURN(
      Args args,
      Args::parse(long_flags(argv),
                  {"model", "prompt", "gen", "batch", "threads", "depth", "reps", "quantization",
                   "activations", "kv-cache-dtype"},
                  {"json", "no-weight-cache", "no-huge-pages", "no-bf16-pack", "no-int4-panel"}));
  FATHOM_ASSIGN_OR_RETURN(std::string dir, args.required("model"));
  engine::ModelBenchConfig cfg;
  FATHOM_ASSIGN_OR_RETURN(std::vector<int32_t> prompts,
                          parse_id_list(args.get_or("prompt", "512")));
  cfg.prompt_lengths.clear();
  for (int32_t p : prompts)
    if (p != 0) cfg.prompt_lengths.push_back(p);
  FATHOM_ASSIGN_OR_RETURN(cfg.batches, parse_id_list(args.get_or("batch", "1")));
  FATHOM_ASSIGN_OR_RETURN(int64_t gen, args.get_int("gen", 128));
  FATHOM_ASSIGN_OR_RETURN(int64_t depth, args.get_int("depth", 0));
  FATHOM_ASSIGN_OR_RETURN(int64_t reps, args.get_int("reps", 1));
  FATHOM_ASSIGN_OR_RETURN(int64_t threads, args.get_int("threads", 0));
  if (gen < 0 || gen > 1 << 20) return invalid_argument("--gen must be in [0, 1048576]");
  if (depth < 0 || depth > 1 << 24) return invalid_argument("--depth must be in [0, 16777216]");
  if (reps < 1 || reps > 1000) return invalid_argument("--reps must be in [1, 1000]");
  if (threads < 0 || threads > 1024) return invalid_argument("--threads must be in [1, 1024]");
  cfg.gen_tokens = static_cast<int32_t>(gen);
  cfg.depth = static_cast<int32_t>(depth);
  cfg.reps = static_cast<int32_t>(reps);
  // The compute pool is sized once, on first use: set its size before anything runs.
  if (threads > 0) setenv("FATHOM_NUM_THREADS", std::to_string(threads).c_str(), 1);

  engine::ModelBenchReport report;
  report.model = dir;
  model::LoadOptions load;
  load.weight_cache = !args.has("no-weight-cache");
  load.huge_pages = args.has("no-huge-pages") ? model::LoadOptions::When::kOff
                                              : model::LoadOptions::When::kAtLoad;
  load.pack_bf16 =
      args.has("no-bf16-pack") ? model::LoadOptions::When::kOff : model::LoadOptions::When::kAtLoad;
  load.int4_panels = args.has("no-int4-panel") ? model::LoadOptions::When::kOff
                                               : model::LoadOptions::When::kAtLoad;
  FATHOM_ASSIGN_OR_RETURN(load.quantization,
                          model::parse_quantization(args.get_or("quantization", "auto")));
  FATHOM_ASSIGN_OR_RETURN(load.activations,
                          model::parse_activation_precision(args.get_or("activations", "exact")));
  FATHOM_ASSIGN_OR_RETURN(std::optional<kernels::KvDtype> kv_dtype,
                          model::parse_kv_cache_dtype(args.get_or("kv-cache-dtype", "auto")));
  FATHOM_ASSIGN_OR_RETURN(auto m, model::load_model(dir, load));
  cfg.kv_dtype = kv_dtype.value_or(model::auto_kv_cache_dtype(m->config()));
  report.kv_dtype = cfg.kv_dtype;
  report.kv_bytes_per_token = runtime::kv_bytes_per_token(m->kv_layout(), cfg.kv_dtype);
  report.weights = m->weight_bytes();
  report.machine = kernels::cpu::probe_machine(default_thread_pool());
  report.compute = dot_peak_of(*m, load.activations);
  if (report.compute != kernels::cpu::DotPeak::kFma)
    report.compute_peak_gflops =
        kernels::cpu::measure_dot_peak_gflops(default_thread_pool(), report.compute);
  if (report.compute_peak_gflops <= 0) report.compute = kernels::cpu::DotPeak::kFma;
  FATHOM_ASSIGN_OR_RETURN(report.rows, engine::run_model_bench(*m, cfg));
  std::fputs(
      (args.has("json") ? engine::model_bench_json(report) : engine::model_bench_table(report))
          .c_str(),
      stdout);
  return ok_status();
}

}  // namespace

int run_bench_model(const std::vector<std::string>& argv) {
  for (const auto& a : argv) {
    if (a == "--help" || a == "-h") {
      print_help();
      return 0;
    }
  }
  Status s = bench_model_main(argv);
  if (!s.ok()) {
    std::fprintf(stderr, "fathom bench model: %s\n", s.message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace fathom::cli
