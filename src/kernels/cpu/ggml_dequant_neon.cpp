// NEON instantiation of the GGML block dequantizers (ggml_dequant_simd.h): 4 lanes per q
// register (AdvSIMD is part of every ARMv8-A CPU: no target attribute). Compiled with
// -ffp-contract=off (src/kernels/CMakeLists.txt): the values must equal kernels/ref's bit for bit.
#include <cstdint>
#include <cstring>

#include "kernels/cpu/linear_cpu_internal.h"
#include "tensor/ggml_type.h"

#if defined(__aarch64__)
#include <arm_neon.h>

#include "kernels/cpu/ggml_dequant_simd.h"

namespace fathom::kernels::cpu {
namespace {

struct Neon {
  static constexpr int kLanes = 4;
  using VI = int32x4_t;
  using VF = float32x4_t;
  static uint8x8_t bytes4(const uint8_t* p) {  // exactly 4 bytes: never past a block's end
    uint32_t v;
    std::memcpy(&v, p, 4);
    return vreinterpret_u8_u32(vdup_n_u32(v));
  }
  static VI load_u8(const uint8_t* p) {
    return vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(vmovl_u8(bytes4(p)))));
  }
  static VI load_i8(const uint8_t* p) {
    return vmovl_s16(vget_low_s16(vmovl_s8(vreinterpret_s8_u8(bytes4(p)))));
  }
  static VI and_(VI a, VI b) { return vandq_s32(a, b); }
  static VI or_(VI a, VI b) { return vorrq_s32(a, b); }
  static VI sub(VI a, VI b) { return vsubq_s32(a, b); }
  template <int N>
  static VI srli(VI a) {
    return vreinterpretq_s32_u32(vshrq_n_u32(vreinterpretq_u32_s32(a), N));
  }
  template <int N>
  static VI slli(VI a) {
    return vshlq_n_s32(a, N);
  }
  static VI set1i(int v) { return vdupq_n_s32(v); }
  static VF to_f(VI a) { return vcvtq_f32_s32(a); }
  static VF set1(float v) { return vdupq_n_f32(v); }
  static VF mul(VF a, VF b) { return vmulq_f32(a, b); }
  static VF fsub(VF a, VF b) { return vsubq_f32(a, b); }
  static void store(float* p, VF v) { vst1q_f32(p, v); }
};

}  // namespace

bool ggml_dequantize_neon(GgmlType t, const uint8_t* src, int64_t n, float* out) {
  return ggml_simd::dequantize<Neon>(t, src, n, out);
}

}  // namespace fathom::kernels::cpu

#else  // not AArch64: never called (isa_available(kNeon) is false)

namespace fathom::kernels::cpu {
bool ggml_dequantize_neon(GgmlType, const uint8_t*, int64_t, float*) { return false; }
}  // namespace fathom::kernels::cpu

#endif
