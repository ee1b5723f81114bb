// CPU linear: y[n, out] = x[n, in] . W[out, in]^T for every LinearWeight format.
// Work is split into tiles of (output rows x input rows) run on the thread pool; each tile runs
// the best instruction-set path the CPU has (AVX2 / AVX-512 on x86, NEON / dotprod / i8mm on ARM
// in linear_cpu_neon*.cpp, else portable scalar code).
// Weights are dequantized inside the kernels, a few elements (or at most one row) at a time.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "kernels/cpu/linear_bf16_avx512.h"
#include "kernels/cpu/linear_bf16_packed_avx2.h"
#include "kernels/cpu/linear_cpu_internal.h"
#include "kernels/cpu/linear_cpu_neon.h"
#include "kernels/cpu/linear_int_gemm.h"
#include "kernels/cpu/linear_int_x.h"
#include "kernels/linear.h"
#include "kernels/quantize_activations.h"
#include "kernels/weight_element.h"
#include "tensor/dtype.h"

namespace fathom::kernels {
namespace cpu {
namespace {

constexpr int64_t kOutTile = 16;   // output rows per task: 16 rows of bf16 x 4096 = 128 KiB
constexpr int64_t kRowTile = 32;   // input rows per task when num_rows is large
constexpr int kMaxRowsAtOnce = 4;  // x rows sharing one pass over a weight row

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return "scalar";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvxVnni:
      return "avxvnni";
    case Isa::kAvx512:
      return "avx512";
    case Isa::kAvx512Vnni:
      return "avx512vnni";
    case Isa::kNeon:
      return "neon";
    case Isa::kNeonDotprod:
      return "dotprod";
    case Isa::kNeonI8mm:
      return "i8mm";
  }
  return "unknown";
}

const char* path_name(LinearPath p) {
  switch (p) {
    case LinearPath::kAuto:
      return "auto";
    case LinearPath::kTiles:
      return "tiles";
    case LinearPath::kRows:
      return "rows";
    case LinearPath::kPanel:
      return "panel";
    case LinearPath::kInt:
      return "int";
    case LinearPath::kIntGemm:
      return "intgemm";
  }
  return "unknown";
}

bool isa_available(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return true;
    case Isa::kAvx2:
#if defined(__x86_64__) || defined(__i386__)
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
             __builtin_cpu_supports("f16c");
#else
      return false;
#endif
    case Isa::kAvx512:
#if defined(__x86_64__) || defined(__i386__)
      return isa_available(Isa::kAvx2) && __builtin_cpu_supports("avx512f");
#else
      return false;
#endif
    case Isa::kAvxVnni:
#if defined(__x86_64__) || defined(__i386__)
      return isa_available(Isa::kAvx2) && __builtin_cpu_supports("avxvnni");
#else
      return false;
#endif
    case Isa::kAvx512Vnni:
#if defined(__x86_64__) || defined(__i386__)
      return isa_available(Isa::kAvx512) && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
#else
      return false;
#endif
    case Isa::kNeon:
    case Isa::kNeonDotprod:
    case Isa::kNeonI8mm:
      return neon_isa_available(isa);
  }
  return false;
}

Isa float_isa(Isa isa) {
  return isa == Isa::kAvxVnni ? Isa::kAvx2 : isa == Isa::kAvx512Vnni ? Isa::kAvx512 : isa;
}

// FATHOM_CPU_ISA=scalar|avx2|avxvnni|avx512|avx512vnni|neon|dotprod|i8mm caps the path (to compare
// paths on one machine, or to step around a suspect one); a path the CPU lacks is never chosen.
Isa best_isa() {
  static const Isa kBest = [] {
    Isa best = Isa::kScalar;
    for (Isa i : kAllIsas)
      if (isa_available(i)) best = i;
    if (const char* cap = std::getenv("FATHOM_CPU_ISA")) {
      for (Isa i : kAllIsas)
        if (std::string_view(cap) == isa_name(i) && i < best && isa_available(i)) best = i;
    }
    return best;
  }();
  return kBest;
}

void decode_row_scalar(const LinearWeight& w, int64_t o, float* buf) {
  const int64_t in = w.in_features;
  switch (w.format) {
    case WeightFormat::kF32: {
      const float* row = static_cast<const float*>(w.values) + o * in;
      std::copy(row, row + in, buf);
      return;
    }
    case WeightFormat::kBF16: {
      const uint16_t* row = static_cast<const uint16_t*>(w.values) + o * in;
      for (int64_t j = 0; j < in; ++j) buf[j] = bf16_to_f32(row[j]);
      return;
    }
    case WeightFormat::kF16: {
      const uint16_t* row = static_cast<const uint16_t*>(w.values) + o * in;
      for (int64_t j = 0; j < in; ++j) buf[j] = f16_to_f32(row[j]);
      return;
    }
    case WeightFormat::kFp8Block: {
      const uint8_t* row = static_cast<const uint8_t*>(w.values) + o * in;
      const int64_t nbi = (in + w.block_in - 1) / w.block_in;
      const float* scales = w.block_scale_inv + (o / w.block_out) * nbi;  // [nbi]
      const float* lut = e4m3_table();
      for (int64_t b = 0; b < nbi; ++b) {
        const int64_t j1 = std::min(in, (b + 1) * w.block_in);
        for (int64_t j = b * w.block_in; j < j1; ++j) buf[j] = lut[row[j]] * scales[b];
      }
      return;
    }
    case WeightFormat::kInt4Grouped: {
      const uint8_t* row = w.q4 + o * ((in + 1) / 2);
      const float* scales = w.group_scale + o * w.num_groups;  // [num_groups]
      const uint8_t* zeros = w.group_zero + o * w.num_groups;  // [num_groups]
      for (int64_t j = 0; j < in; ++j) {
        const int q = (j & 1) ? (row[j / 2] >> 4) : (row[j / 2] & 0xf);
        const int64_t g = detail::int4_group(w, j);
        buf[j] = static_cast<float>(q - int{zeros[g]}) * scales[g];
      }
      return;
    }
    case WeightFormat::kInt8Channel: {
      const int8_t* row = w.q8 + o * in;
      const float s = w.channel_scale[o];
      for (int64_t j = 0; j < in; ++j) buf[j] = static_cast<float>(row[j]) * s;
      return;
    }
    case WeightFormat::kGgml:
      return decode_row_ggml(w, o, buf);
  }
}

void linear_tile_scalar(const LinearWeight& w, const LinearTile& t) {
  const int64_t in = w.in_features, out = w.out_features;
  std::vector<float> buf(static_cast<size_t>(in));  // one dequantized weight row
  for (int64_t o = t.o_begin; o < t.o_end; ++o) {
    decode_row_scalar(w, o, buf.data());
    for (int64_t r0 = 0; r0 < t.num_rows; r0 += kMaxRowsAtOnce) {
      const int64_t nr = std::min<int64_t>(kMaxRowsAtOnce, t.num_rows - r0);
      float acc[kMaxRowsAtOnce] = {0, 0, 0, 0};
      for (int64_t r = 0; r < nr; ++r) {
        const float* xr = t.x + (r0 + r) * in;
        // Four partial sums break the add dependency chain and let the compiler vectorise.
        float p[4] = {0, 0, 0, 0};
        int64_t j = 0;
        for (; j + 4 <= in; j += 4)
          for (int k = 0; k < 4; ++k) p[k] += xr[j + k] * buf[j + k];
        for (; j < in; ++j) p[0] += xr[j] * buf[j];
        acc[r] = (p[0] + p[1]) + (p[2] + p[3]);
      }
      for (int64_t r = 0; r < nr; ++r) t.y[(r0 + r) * out + o] = acc[r];
    }
  }
}

namespace {

// The few-rows kernel of the ISA (kAvx2 or kAvx512): tasks of kOutTile outputs over every row.
void run_rows(const LinearWeight& w, const float* x, int64_t num_rows, float* y, ThreadPool& pool,
              Isa isa) {
  auto* rows_fn = isa == Isa::kAvx512 ? &linear_rows_avx512 : &linear_rows_avx2;
  const int64_t out = w.out_features;
  pool.parallel_for((out + kOutTile - 1) / kOutTile, [&](int64_t begin, int64_t end) {
    LinearTile t;
    t.x = x;
    t.num_rows = num_rows;
    t.y = y;
    t.o_begin = begin * kOutTile;
    t.o_end = std::min(out, end * kOutTile);
    rows_fn(w, t);
  });
}

// The packed-panel GEMM of the ISA (kAvx2 or kAvx512).
void run_panel(const LinearWeight& w, const float* x, int64_t num_rows, float* y, ThreadPool& pool,
               Isa isa) {
  const int64_t in = w.in_features, out = w.out_features;
  static std::atomic<uint64_t> calls{0};
  const uint64_t call_id = ++calls;
  const int64_t panel_out = isa == Isa::kAvx512 ? kPanelOut : kPanelOutAvx2;
  auto* panel_fn = isa == Isa::kAvx512 ? &linear_panel_avx512 : &linear_panel_avx2;
  const int64_t tiles = (out + panel_out - 1) / panel_out;
  const int64_t chunks = (num_rows + kPanelRows - 1) / kPanelRows;
  // Output-tile major: a thread's contiguous tasks are the row chunks of the same 32 weight
  // rows, which it decodes once.
  pool.parallel_for(tiles * chunks, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t ot = task / chunks, r0 = (task % chunks) * kPanelRows;
      LinearTile t;
      t.x = x + r0 * in;
      t.num_rows = std::min(kPanelRows, num_rows - r0);
      t.y = y + r0 * out;
      t.o_begin = ot * panel_out;
      t.o_end = std::min(out, t.o_begin + panel_out);
      t.call_id = call_id;
      panel_fn(w, t);
    }
  });
}

// The tiles that decode weights inside the dot products (kScalar or kAvx2).
void run_tiles(const LinearWeight& w, const float* x, int64_t num_rows, float* y, ThreadPool& pool,
               Isa isa) {
  const int64_t in = w.in_features, out = w.out_features;
  // Per-group sums of x for the int4 kernel's zero-point term ([num_rows, num_groups]).
  std::vector<float> x_group_sums;
  if (isa == Isa::kAvx2 && avx2_wants_group_sums(w)) {
    const int64_t groups = w.num_groups, in8 = in & ~int64_t{7};
    x_group_sums.assign(static_cast<size_t>(num_rows * groups), 0.0f);
    for (int64_t r = 0; r < num_rows; ++r)
      for (int64_t g = 0; g * w.group_size < in8; ++g) {
        const int64_t j1 = std::min(in8, (g + 1) * w.group_size);
        float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};           // 8 partial sums: no serial add chain
        for (int64_t j = g * w.group_size; j < j1; j += 8)  // group_size % 8 == 0 here
          for (int k = 0; k < 8; ++k) lane[k] += x[r * in + j + k];
        x_group_sums[r * groups + g] = ((lane[0] + lane[1]) + (lane[2] + lane[3])) +
                                       ((lane[4] + lane[5]) + (lane[6] + lane[7]));
      }
  }
  const int64_t row_tile = num_rows <= kRowTile ? num_rows : kRowTile;
  const int64_t num_row_tiles = (num_rows + row_tile - 1) / row_tile;
  const int64_t num_out_tiles = (out + kOutTile - 1) / kOutTile;
  auto* tile_fn = isa == Isa::kAvx2 ? &linear_tile_avx2 : &linear_tile_scalar;
  // Tasks are output-tile major, so the contiguous task range one thread takes reuses the same
  // weight rows (from cache) across input-row tiles.
  pool.parallel_for(num_out_tiles * num_row_tiles, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t ot = task / num_row_tiles, rt = task % num_row_tiles;
      LinearTile t;
      const int64_t r0 = rt * row_tile;
      t.x = x + r0 * in;
      t.num_rows = std::min(row_tile, num_rows - r0);
      t.y = y + r0 * out;
      t.o_begin = ot * kOutTile;
      t.o_end = std::min(out, t.o_begin + kOutTile);
      if (!x_group_sums.empty()) t.x_group_sums = x_group_sums.data() + r0 * w.num_groups;
      tile_fn(w, t);
    }
  });
}

// The integer kernels (LinearPath::kInt); false, having written nothing, when x holds a NaN or
// an infinity (the float kernels then propagate it as the reference does).
bool run_int(const LinearWeight& w, const float* x, int64_t num_rows, float* y, ThreadPool& pool,
             Isa isa, ActivationPrecision act) {
  const IntX qx = quantize_x(w, x, num_rows, act, isa, pool);
  if (!qx.finite) return false;
  const IntDotFn fn = isa == Isa::kAvx512Vnni ? &int_dot_avx512vnni
                      : isa == Isa::kAvxVnni  ? &int_dot_avxvnni
                                              : &int_dot_avx2;
  for_each_tile(pool, x, w.in_features, num_rows, y, w.out_features, kRowTile, kOutTile, 0,
                [&](const LinearTile& t) {
                  fn(w, qx, x, y, (t.x - x) / w.in_features, t.num_rows, t.o_begin, t.o_end);
                });
  return true;
}

}  // namespace

bool int_dot_supported(const LinearWeight& w, Isa isa, ActivationPrecision act) {
  if (!int_dot_applies(w)) return false;
  if (w.format == WeightFormat::kGgml)  // x as one int8 limb only: kExact stays on fp32 kernels
    return act == ActivationPrecision::kReduced &&
           (isa == Isa::kAvx2 || isa == Isa::kAvxVnni || isa == Isa::kAvx512Vnni);
  if (isa == Isa::kAvxVnni || isa == Isa::kAvx512Vnni) return true;
  return isa == Isa::kAvx2 &&
         (w.format == WeightFormat::kInt4Grouped || act == ActivationPrecision::kReduced);
}

bool int_gemm_supported(const LinearWeight& w, Isa isa, ActivationPrecision act) {
  return (isa == Isa::kAvx512Vnni || isa == Isa::kAvxVnni || isa == Isa::kAvx2) &&
         act == ActivationPrecision::kReduced && w.format != WeightFormat::kGgml &&
         int_dot_applies(w);  // GGML blocks: kInt only
}

int64_t int_max_rows(const LinearWeight& w) {
  const bool block32 = w.format == WeightFormat::kGgml &&
                       (w.ggml_type == GgmlType::kQ8_0 || w.ggml_type == GgmlType::kQ4_0);
  return block32 ? kGgmlBlock32IntMaxRows : kIntMaxRows;
}

bool reads_bf16_packed(Isa isa) {
  isa = float_isa(isa);
  return isa == Isa::kAvx2 || (isa == Isa::kAvx512 && avx512_bf16_available());
}

LinearPath choose_path(const LinearWeight& w, int64_t num_rows, Isa isa, LinearPath want,
                       ActivationPrecision act) {
  const bool int_ok = int_dot_supported(w, isa, act);
  const bool gemm_ok = int_gemm_supported(w, isa, act);
  const bool int4 = w.format == WeightFormat::kInt4Grouped;
  const bool int8 = w.format == WeightFormat::kInt8Channel;
  if (want == LinearPath::kInt && int_ok) return LinearPath::kInt;
  if (want == LinearPath::kIntGemm && gemm_ok) return LinearPath::kIntGemm;
  const int64_t gemm_min_rows =
      isa != Isa::kAvx512Vnni && int4 ? kIntGemmMinRowsAvx2Int4 : kIntGemmMinRows;
  if (want == LinearPath::kAuto && gemm_ok && num_rows >= gemm_min_rows)
    return LinearPath::kIntGemm;
  if (int_ok && act == ActivationPrecision::kReduced && num_rows < int_max_rows(w))
    return LinearPath::kInt;
  if (int_ok && want == LinearPath::kAuto && int4 && num_rows < kRowsMinRowsAvx2Int4 &&
      (isa == Isa::kAvx2 || isa == Isa::kAvxVnni))  // one exact row: three int8 limbs
    return LinearPath::kInt;
  isa = float_isa(isa);
  const bool rows_ok = isa == Isa::kAvx512 ? rows_avx512_supports(w)
                       : isa == Isa::kAvx2 ? rows_avx2_supports(w)
                                           : false;
  const int64_t rows_min = isa != Isa::kAvx2 ? 1 : int4 ? kRowsMinRowsAvx2Int4 : kRowsMinRowsAvx2;
  const int64_t rows_max = isa != Isa::kAvx2 ? kRowsMaxRows
                           : int4            ? kRowsMaxRowsAvx2Int4
                           : int8            ? kRowsMaxRowsAvx2Int8
                                             : kRowsMaxRowsAvx2;
  const bool panel_ok = isa == Isa::kAvx2 || isa == Isa::kAvx512;  // ARM: linear_neon decides
  if (want == LinearPath::kRows && rows_ok) return LinearPath::kRows;
  if (want == LinearPath::kPanel && panel_ok) return LinearPath::kPanel;
  if (want == LinearPath::kTiles) return LinearPath::kTiles;
  if (rows_ok && num_rows >= rows_min && num_rows < rows_max) return LinearPath::kRows;
  if (panel_ok && num_rows >= kPanelMinRows) return LinearPath::kPanel;
  return LinearPath::kTiles;
}

void linear_cpu_isa(const LinearWeight& w, const float* x, int64_t num_rows, float* y,
                    ThreadPool& pool, Isa isa, LinearPath path, ActivationPrecision act) {
  const int64_t in = w.in_features, out = w.out_features;
  if (num_rows <= 0 || out <= 0) return;
  if (in <= 0) {
    std::fill(y, y + num_rows * out, 0.0f);
    return;
  }
  // Act-order int4: gather x into the stored column order once ([num_rows, in]); the kernels
  // then see contiguous groups.
  std::vector<float> x_perm;
  if (w.format == WeightFormat::kInt4Grouped && w.input_perm) {
    x_perm.resize(static_cast<size_t>(num_rows * in));
    for (int64_t r = 0; r < num_rows; ++r)
      for (int64_t j = 0; j < in; ++j) x_perm[r * in + j] = x[r * in + w.input_perm[j]];
    x = x_perm.data();
  }
  if (neon_isa_available(isa)) return linear_neon(w, x, num_rows, y, pool, isa);  // ARM
  const LinearPath chosen = choose_path(w, num_rows, isa, path, act);
  if (const Int4Panel* panel = w.int4_panel ? w.int4_panel->get() : nullptr;
      panel && num_rows <= kInt4PanelMaxRows && isa == Isa::kAvx512Vnni &&
      act == ActivationPrecision::kReduced &&
      (path == LinearPath::kAuto || path == LinearPath::kInt) &&
      int4_panel_avx512vnni(w, *panel, x, num_rows, y, pool))
    return;
  if (chosen == LinearPath::kInt && run_int(w, x, num_rows, y, pool, isa, act)) return;
  if (chosen == LinearPath::kIntGemm &&
      (isa == Isa::kAvx512Vnni ? int_gemm_avx512vnni(w, x, num_rows, y, pool)
                               : int_gemm_avx2(w, x, num_rows, y, pool)))
    return;
  isa = float_isa(isa);
  if (num_rows == 1 && w.bf16_packed && (path == LinearPath::kAuto || path == LinearPath::kRows) &&
      reads_bf16_packed(isa) &&
      (isa == Isa::kAvx512 ? linear_bf16_packed(w, x, y, pool, act)
                           : linear_bf16_packed_avx2(w, x, y, pool)))
    return;
  if (uses_bf16_dot(w, num_rows, isa, path, act)) {  // kReduced bf16/f16: vdpbf16ps
    if (num_rows >= kBf16PanelMinRows &&
        (path == LinearPath::kAuto || path == LinearPath::kPanel) &&
        linear_bf16_panel(w, x, num_rows, y, pool))
      return;
    return linear_bf16_avx512(w, x, num_rows, y, pool, choose_path(w, num_rows, isa, path));
  }
  const bool integer = chosen == LinearPath::kInt || chosen == LinearPath::kIntGemm;
  switch (integer ? choose_path(w, num_rows, isa, LinearPath::kAuto) : chosen) {
    case LinearPath::kRows:
      return run_rows(w, x, num_rows, y, pool, isa);
    case LinearPath::kPanel:
      return run_panel(w, x, num_rows, y, pool, isa);
    default:  // a few rows: the AVX2 tiles (also for kAvx512)
      return run_tiles(w, x, num_rows, y, pool, isa == Isa::kAvx512 ? Isa::kAvx2 : isa);
  }
}

}  // namespace cpu

const char* activation_precision_name(ActivationPrecision a) {
  return a == ActivationPrecision::kReduced ? "reduced" : "exact";
}

void linear_cpu(const LinearWeight& w, const float* x, int64_t num_rows, float* y, ThreadPool& pool,
                ActivationPrecision act) {
  cpu::linear_cpu_isa(w, x, num_rows, y, pool, cpu::best_isa(), cpu::LinearPath::kAuto, act);
}

}  // namespace fathom::kernels
