// Decode-shaped linear benchmark: y[rows, out] = x[rows, in] . W^T for every weight format,
// printing time (the best call and the median), achieved GB/s of weight bytes at the best call
// and the ratio to this machine's measured read bandwidth ("speed of light": a decode matmul
// cannot beat streaming its weights once).
//
//   build/quant/bench/linear_bench [--rows N] [--threads N] [--seconds S] [--isa
//   avx512|avx2|scalar] [--format NAME] [--shapes OUTxIN,...] [--activations exact|reduced]
//   [--compare]
//
// --activations picks the ActivationPrecision of the default run (kAuto's path; exact unless
// given): `reduced` is what `fathom serve --activations reduced` runs, e.g. the integer kernels
// for int8, int4 and GGML Q8_0 / Q4_K / Q6_K weights below kIntMaxRows rows.
//
// --compare times every kernel family this CPU has on the same weights, as ratios to the AVX2
// tiles: the integer kernels (path "int") once per activation precision (exact / reduced), and
// every family that rounds x to bf16 (kReduced on AVX-512 BF16) beside its fp32 twin
// (".../reduced").
//
// Weights are random, in several copies used round-robin so the set is larger than the last
// level cache and every call reads its weight from DRAM, as real decoding does. "hot GB/s" is
// the same kernel on a 512-row slice that stays in cache: the compute ceiling of the format.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/bf16_packed.h"
#include "kernels/bf16_panel.h"
#include "kernels/cpu/linear_bf16_avx512.h"
#include "kernels/cpu/linear_cpu_internal.h"
#include "kernels/cpu/machine_probe.h"
#include "kernels/ggml_blocks.h"
#include "kernels/int4_panel.h"
#include "kernels/linear.h"
#include "tensor/dtype.h"

namespace fathom::bench {
namespace {

using kernels::LinearWeight;
using kernels::WeightFormat;
using Clock = std::chrono::steady_clock;

constexpr int64_t kWorkingSetBytes = int64_t{512} << 20;  // >> the 32 MiB L3 seen here

template <typename T>
T* own(LinearWeight& w, int64_t n, std::mt19937& rng) {
  auto buf = std::make_shared<std::vector<T>>(static_cast<size_t>(n));
  // Random bytes; the float formats get sane values below.
  auto* bytes = reinterpret_cast<uint8_t*>(buf->data());
  for (size_t k = 0; k < buf->size() * sizeof(T); ++k) bytes[k] = static_cast<uint8_t>(rng());
  T* p = buf->data();
  w.storage.push_back(std::move(buf));
  return p;
}

struct FormatSpec {
  const char* name;
  WeightFormat format;
  bool act_order = false;
  GgmlType ggml_type = GgmlType::kF32;  ///< kGgml
};

LinearWeight make_weight(const FormatSpec& f, int64_t out, int64_t in, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  LinearWeight w;
  w.format = f.format;
  w.out_features = out;
  w.in_features = in;
  const int64_t n = out * in;
  switch (f.format) {
    case WeightFormat::kF32: {
      float* v = own<float>(w, n, rng);
      for (int64_t k = 0; k < n; ++k) v[k] = uni(rng);
      w.values = v;
      break;
    }
    case WeightFormat::kBF16: {  // Gaussian, std 0.02, as trained layers (what packing sees)
      uint16_t* v = own<uint16_t>(w, n, rng);
      std::normal_distribution<float> nd(0.0f, 0.02f);
      for (int64_t k = 0; k < n; ++k) v[k] = f32_to_bf16(nd(rng));
      w.values = v;
      break;
    }
    case WeightFormat::kF16: {
      uint16_t* v = own<uint16_t>(w, n, rng);
      for (int64_t k = 0; k < n; ++k) v[k] &= 0xbbff;  // finite, |v| small
      w.values = v;
      break;
    }
    case WeightFormat::kFp8Block: {
      uint8_t* v = own<uint8_t>(w, n, rng);
      for (int64_t k = 0; k < n; ++k) v[k] &= 0xbf;  // no NaN codes
      w.values = v;
      w.block_out = w.block_in = 128;
      const int64_t nb = ((out + 127) / 128) * ((in + 127) / 128);
      float* s = own<float>(w, nb, rng);
      for (int64_t k = 0; k < nb; ++k) s[k] = 1e-3f;
      w.block_scale_inv = s;
      break;
    }
    case WeightFormat::kInt4Grouped: {
      w.group_size = 128;
      w.num_groups = static_cast<int32_t>((in + 127) / 128);
      w.q4 = own<uint8_t>(w, out * ((in + 1) / 2), rng);
      float* s = own<float>(w, out * w.num_groups, rng);
      uint8_t* z = own<uint8_t>(w, out * w.num_groups, rng);
      for (int64_t k = 0; k < out * w.num_groups; ++k) {
        s[k] = 1e-2f;
        z[k] &= 0xf;
      }
      w.group_scale = s;
      w.group_zero = z;
      if (f.act_order) {
        int32_t* p = own<int32_t>(w, in, rng);
        std::iota(p, p + in, 0);
        std::shuffle(p, p + in, rng);
        w.input_perm = p;
      }
      break;
    }
    case WeightFormat::kInt8Channel: {
      w.q8 = own<int8_t>(w, n, rng);
      float* s = own<float>(w, out, rng);
      for (int64_t o = 0; o < out; ++o) s[o] = 1e-3f;
      w.channel_scale = s;
      break;
    }
    case WeightFormat::kGgml: {  // random floats quantized to the GGML blocks
      w.ggml_type = f.ggml_type;
      const int64_t row_bytes = ggml_row_bytes(f.ggml_type, in);
      uint8_t* blocks = own<uint8_t>(w, out * row_bytes, rng);
      std::vector<float> row(static_cast<size_t>(in));
      for (int64_t o = 0; o < out; ++o) {
        for (float& v : row) v = uni(rng);
        kernels::ggml_quantize(f.ggml_type, row.data(), in, blocks + o * row_bytes);
      }
      w.values = blocks;
      break;
    }
  }
  return w;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Seconds per call of fn over at least `budget_s` (and at least 5 calls): the fastest call,
// the closest to what the kernel itself costs on a shared machine where other processes only
// make calls slower, and the median, what a model's step of many calls sees (on the 2-vCPU
// AVX2 VM of docs/benchmarks.md a one-row int4 call's median was 1.3-1.7x its best).
struct CallTimes {
  double best = 0, median = 0;
};
template <typename Fn>
CallTimes time_calls(Fn&& fn, double budget_s) {
  for (int i = 0; i < 2; ++i) fn(i);  // warm-up: threads awake, pages touched
  std::vector<double> t;
  const auto start = Clock::now();
  for (int i = 0; t.size() < 5 || seconds_since(start) < budget_s; ++i) {
    const auto t0 = Clock::now();
    fn(i);
    t.push_back(seconds_since(t0));
  }
  std::sort(t.begin(), t.end());
  return {t.front(), t[t.size() / 2]};
}
template <typename Fn>
double time_best(Fn&& fn, double budget_s) {
  return time_calls(std::forward<Fn>(fn), budget_s).best;
}

// Read bandwidth of the whole pool streaming a large buffer (sum of 64-bit words).
double measure_read_gbps(ThreadPool& pool, double budget_s) {
  const int64_t n = kWorkingSetBytes / 8;
  std::vector<uint64_t> buf(static_cast<size_t>(n));
  pool.parallel_for(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) buf[i] = static_cast<uint64_t>(i) * 0x9e3779b97f4a7c15ull;
  });
  std::vector<uint64_t> sink(64, 0);
  const double s = time_best(
      [&](int) {
        pool.parallel_for(
            n,
            [&](int64_t b, int64_t e) {
              uint64_t acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};  // independent lanes: vectorisable
              int64_t i = b;
              for (; i + 8 <= e; i += 8)
                for (int k = 0; k < 8; ++k) acc[k] += buf[i + k];
              for (; i < e; ++i) acc[0] += buf[i];
              uint64_t t = 0;
              for (uint64_t a : acc) t += a;
              sink[(b / 4096) % 64] += t;
            },
            1 << 16);
      },
      budget_s);
  if (std::accumulate(sink.begin(), sink.end(), uint64_t{0}) == 42) std::puts("");
  return static_cast<double>(n * 8) / s / 1e9;
}

double measure_memcpy_gbps(double budget_s) {
  const size_t n = static_cast<size_t>(kWorkingSetBytes / 2);
  std::vector<uint8_t> a(n, 1), b(n, 2);
  const double s = time_best(
      [&](int i) { std::memcpy(i % 2 ? a.data() : b.data(), i % 2 ? b.data() : a.data(), n); },
      budget_s);
  return 2.0 * static_cast<double>(n) / s / 1e9;  // read + write
}

// Other processes on a shared machine skew every number: print how busy it was.
std::string load_average() {
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  if (!f) return "unknown";
  char buf[64] = {0};
  const bool ok = std::fgets(buf, sizeof(buf), f) != nullptr;
  std::fclose(f);
  std::string s = ok ? buf : "unknown";
  const size_t third_space = s.find(' ', s.find(' ', s.find(' ') + 1) + 1);
  return s.substr(0, third_space);
}

int run(int argc, char** argv) {
  int64_t rows = 1;
  int threads = 0;
  double budget_s = 1.0;
  kernels::cpu::Isa isa = kernels::cpu::best_isa();
  std::string only_format;    // --format NAME: just that one
  bool compare_isas = false;  // --compare: every kernel family this CPU has, as ratios
  auto default_act = kernels::ActivationPrecision::kExact;                          // --activations
  std::vector<std::pair<int64_t, int64_t>> shapes = {{4096, 4096}, {11008, 4096}};  // out, in
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--rows" && has_value) {
      rows = std::max<int64_t>(1, std::atoll(argv[++i]));
    } else if (a == "--threads" && has_value) {
      threads = std::atoi(argv[++i]);
    } else if (a == "--seconds" && has_value) {
      budget_s = std::atof(argv[++i]);
    } else if (a == "--format" && has_value) {
      only_format = argv[++i];
    } else if (a == "--shapes" && has_value) {  // OUTxIN[,OUTxIN...]
      shapes.clear();
      for (const char* p = argv[++i]; *p;) {
        char* end = nullptr;
        const long long o = std::strtoll(p, &end, 10);
        const long long n = *end == 'x' ? std::strtoll(end + 1, &end, 10) : 0;
        if (o <= 0 || n <= 0 || (*end != ',' && *end != '\0')) {
          std::fprintf(stderr, "--shapes: want OUTxIN[,OUTxIN...], e.g. 1536x1536,8960x1536\n");
          return 2;
        }
        shapes.emplace_back(o, n);
        p = *end ? end + 1 : end;
      }
    } else if (a == "--activations" && has_value) {
      const std::string v = argv[++i];
      if (v != "exact" && v != "reduced") {
        std::fprintf(stderr, "--activations: want exact or reduced\n");
        return 2;
      }
      default_act = v == "reduced" ? kernels::ActivationPrecision::kReduced
                                   : kernels::ActivationPrecision::kExact;
    } else if (a == "--compare") {
      compare_isas = true;
    } else if (a == "--isa" && has_value) {
      const std::string v = argv[++i];
      const auto* known =
          std::find_if(std::begin(kernels::cpu::kAllIsas), std::end(kernels::cpu::kAllIsas),
                       [&](kernels::cpu::Isa c) { return v == kernels::cpu::isa_name(c); });
      if (known == std::end(kernels::cpu::kAllIsas)) {
        std::fprintf(stderr, "--isa: unknown path '%s'\n", v.c_str());
        return 2;
      }
      isa = *known;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--rows N] [--threads N] [--seconds S]"
                   " [--isa avx512vnni|avx512|avxvnni|avx2|scalar|neon|dotprod|i8mm]"
                   " [--format NAME] [--shapes OUTxIN,...] [--activations exact|reduced]"
                   " [--compare]\n",
                   argv[0]);
      return 2;
    }
  }
  if (!kernels::cpu::isa_available(isa)) {
    std::fprintf(stderr, "this CPU cannot run the %s path\n", kernels::cpu::isa_name(isa));
    return 2;
  }
  ThreadPool pool(threads);
  const std::string load_before = load_average();
  // The read stream is measured again before every row and the best figure kept: on a shared
  // machine a single early measurement can land in a busy moment and overstate every ratio.
  double read_gbps = measure_read_gbps(pool, budget_s);
  const double copy_gbps = measure_memcpy_gbps(budget_s);
  const double peak_gflops = kernels::cpu::measure_peak_gflops(pool, isa);

  struct Row {
    std::string name;
    int64_t out, in;
    double mib, us, median_us, gbps, gflops, hot_gbps, vs_avx2;
  };
  std::vector<Row> table;
  const FormatSpec formats[] = {
      {"f32", WeightFormat::kF32},
      {"bf16", WeightFormat::kBF16},
      {"f16", WeightFormat::kF16},
      {"fp8_block128", WeightFormat::kFp8Block},
      {"int8_channel", WeightFormat::kInt8Channel},
      {"int4_g128", WeightFormat::kInt4Grouped},
      {"int4_g128_act", WeightFormat::kInt4Grouped, true},
      {"ggml_q8_0", WeightFormat::kGgml, false, GgmlType::kQ8_0},
      {"ggml_q6_k", WeightFormat::kGgml, false, GgmlType::kQ6_K},
      {"ggml_q4_k", WeightFormat::kGgml, false, GgmlType::kQ4_K},
      {"ggml_q4_0", WeightFormat::kGgml, false, GgmlType::kQ4_0},
      {"ggml_q5_0", WeightFormat::kGgml, false, GgmlType::kQ5_0},
  };
  for (const auto& [out, in] : shapes) {
    std::vector<float> x(static_cast<size_t>(rows * in)), y(static_cast<size_t>(rows * out));
    std::mt19937 rng(7);
    std::normal_distribution<float> nd;
    for (float& v : x) v = nd(rng);
    for (const FormatSpec& f : formats) {
      if (!only_format.empty() && only_format != f.name) continue;
      std::vector<LinearWeight> copies;
      int64_t bytes = 0;
      do {
        copies.push_back(make_weight(f, out, in, static_cast<uint32_t>(copies.size() + 1)));
        bytes += copies.back().size_bytes();
      } while (bytes < kWorkingSetBytes && copies.size() < 64);
      read_gbps = std::max(read_gbps, measure_read_gbps(pool, budget_s / 4));
      using kernels::cpu::Isa;
      using kernels::cpu::LinearPath;
      using Act = kernels::ActivationPrecision;
      struct Run {
        Isa isa;
        LinearPath path;
        Act act;
        // The weights' ready-made copies (kernels/bf16_packed.h, bf16_panel.h, int4_panel.h).
        bool prepacked = false;
      };
      // One bf16 row reads the 12-bit packed copy on AVX2 and AVX-512 BF16.
      const bool bf16_packed_row = rows == 1 && f.format == WeightFormat::kBF16 &&
                                   kernels::bf16_packable(out, in) &&
                                   kernels::cpu::reads_bf16_packed(isa);
      // The default run reads what `fathom serve` reads: the packed copy of bf16 weights for
      // one row and, with kReduced activations, the panel copies that the load makes of bf16
      // and int4 weights.
      std::vector<Run> runs = {{isa, LinearPath::kAuto, default_act,
                                bf16_packed_row || (default_act == Act::kReduced &&
                                                    (f.format == WeightFormat::kBF16 ||
                                                     (kernels::int4_panel_applies(copies[0]) &&
                                                      rows <= kernels::kInt4PanelMaxRows)))}};
      if (compare_isas) {  // every kernel family this CPU runs, the AVX2 tiles (the baseline) first
        runs.clear();
        for (auto i : kernels::cpu::kAllIsas) {
          if (i == Isa::kScalar || !kernels::cpu::isa_available(i)) continue;
          if (i > Isa::kAvx512Vnni) {
            runs.push_back({i, LinearPath::kAuto, Act::kExact});  // ARM: one family per ISA
            continue;
          }
          for (auto p : {LinearPath::kTiles, LinearPath::kRows, LinearPath::kPanel}) {
            if (kernels::cpu::float_isa(i) != i) continue;
            if (!(i == Isa::kAvx512 && p == LinearPath::kTiles) &&
                kernels::cpu::choose_path(copies[0], rows, i, p) == p)
              runs.push_back({i, p, Act::kExact});
            if (kernels::cpu::uses_bf16_dot(copies[0], rows, i, p, Act::kReduced)) {
              runs.push_back({i, p, Act::kReduced});
              if (p == LinearPath::kPanel && f.format == WeightFormat::kBF16)
                runs.push_back({i, p, Act::kReduced, true});
            }
          }
          for (Act act : {Act::kExact, Act::kReduced})
            if (kernels::cpu::choose_path(copies[0], rows, i, LinearPath::kInt, act) ==
                LinearPath::kInt)
              runs.push_back({i, LinearPath::kInt, act});
          if (bf16_packed_row && kernels::cpu::float_isa(i) == i &&
              kernels::cpu::reads_bf16_packed(i))
            runs.push_back({i, LinearPath::kRows, Act::kExact, true});
          if (i == Isa::kAvx512Vnni && rows <= kernels::kInt4PanelMaxRows &&
              kernels::int4_panel_applies(copies[0]))
            runs.push_back({i, LinearPath::kInt, Act::kReduced, true});
          if (kernels::cpu::choose_path(copies[0], rows, i, LinearPath::kIntGemm, Act::kReduced) ==
              LinearPath::kIntGemm)
            runs.push_back({i, LinearPath::kIntGemm, Act::kReduced});
        }
      }
      std::vector<LinearWeight> panel_copies;  // copies with their panel copy, made when asked
      auto weights = [&](bool prepacked) -> const std::vector<LinearWeight>& {
        if (!prepacked) return copies;
        if (panel_copies.empty())
          for (LinearWeight w : copies) {
            if (kernels::int4_panel_applies(w)) {
              w.int4_panel = std::make_shared<kernels::Int4PanelSlot>();
              w.int4_panel->set(kernels::pack_int4_panel(w));
            } else if (bf16_packed_row) {
              w.bf16_packed = std::make_shared<kernels::Bf16PackedSlot>();
              w.bf16_packed->set(kernels::pack_bf16(static_cast<const uint16_t*>(w.values),
                                                    w.out_features, w.in_features));
            } else {
              w.bf16_panel = std::make_shared<kernels::Bf16PanelSlot>();
              w.bf16_panel->set(kernels::pack_bf16_panel(static_cast<const uint16_t*>(w.values),
                                                         w.out_features, w.in_features));
            }
            panel_copies.push_back(std::move(w));
          }
        return panel_copies;
      };
      double avx2_s = 0;
      for (const auto& [run_isa, run_path, run_act, prepacked] : runs) {
        const std::vector<LinearWeight>& ws = weights(prepacked);
        const CallTimes times = time_calls(
            [&](int i) {
              kernels::cpu::linear_cpu_isa(ws[static_cast<size_t>(i) % ws.size()], x.data(), rows,
                                           y.data(), pool, run_isa, run_path, run_act);
            },
            budget_s);
        const double s = times.best;
        if (run_isa == kernels::cpu::Isa::kAvx2 && run_path == LinearPath::kTiles) avx2_s = s;
        // What the call reads: one row reads a packed copy where there is one.
        const double wbytes =
            static_cast<double>(rows == 1 ? ws[0].one_row_bytes() : ws[0].size_bytes());
        // The kernel's own ceiling: a 512-row slice of the same weight, called repeatedly, stays
        // in the last-level cache, so memory bandwidth no longer limits it.
        LinearWeight hot = ws[0];
        hot.out_features = std::min<int64_t>(out, 512);
        const double hot_s = time_best(
            [&](int) {
              kernels::cpu::linear_cpu_isa(hot, x.data(), rows, y.data(), pool, run_isa, run_path,
                                           run_act);
            },
            budget_s / 2);
        table.push_back(
            {f.name +
                 (compare_isas
                      ? std::string("/") + kernels::cpu::isa_name(run_isa) + "/" +
                            kernels::cpu::path_name(run_path) +
                            (run_path == LinearPath::kInt || run_path == LinearPath::kIntGemm ||
                                     run_act == Act::kReduced
                                 ? std::string("/") + kernels::activation_precision_name(run_act)
                                 : std::string()) +
                            (prepacked ? "/prepacked" : "")
                      : std::string()),
             out, in, wbytes / (1 << 20), s * 1e6, times.median * 1e6, wbytes / s / 1e9,
             2.0 * static_cast<double>(rows * out * in) / s / 1e9,
             wbytes * static_cast<double>(hot.out_features) / static_cast<double>(out) / hot_s /
                 1e9,
             avx2_s > 0 ? avx2_s / s : 0});
      }
    }
  }

  std::printf("threads %d, isa %s, rows %lld, load average %s (start) %s (end)\n",
              pool.num_threads(), kernels::cpu::isa_name(isa), static_cast<long long>(rows),
              load_before.c_str(), load_average().c_str());
  std::printf(
      "speed of light: read stream %.1f GB/s (all threads, best of the run); "
      "memcpy %.1f GB/s (1 thread, read+write)\n",
      read_gbps, copy_gbps);
  std::printf("f32 FMA peak (%s, all threads): %.1f GFLOP/s\n\n", kernels::cpu::isa_name(isa),
              peak_gflops);
  std::printf("%-32s %-12s %8s %9s %9s %7s %8s %8s %10s %7s\n", "format", "out x in", "MiB",
              "us/call", "median us", "GB/s", "of read", "GFLOP/s", "hot GB/s", "x tiles");
  for (const Row& r : table)
    std::printf("%-32s %5lldx%-6lld %8.1f %9.1f %9.1f %7.1f %7.0f%% %8.1f %10.1f %7.2f\n",
                r.name.c_str(), static_cast<long long>(r.out), static_cast<long long>(r.in), r.mib,
                r.us, r.median_us, r.gbps, 100.0 * r.gbps / read_gbps, r.gflops, r.hot_gbps,
                r.vs_avx2);
  return 0;
}

}  // namespace
}  // namespace fathom::bench

int main(int argc, char** argv) { return fathom::bench::run(argc, argv); }
