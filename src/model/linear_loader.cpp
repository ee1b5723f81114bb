#include "model/linear_loader.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <numeric>
#include <vector>

#include "tensor/dtype.h"

namespace fathom::model {
namespace {

using formats::TensorView;
using kernels::LinearWeight;
using kernels::WeightFormat;

constexpr int64_t kMaxDim = int64_t{1} << 31;
// AWQ GEMM nibble slot of output 8c + j (AutoAWQ's order_map [0,2,4,6,1,3,5,7] inverted).
constexpr int kAwqReverseOrder[8] = {0, 4, 1, 5, 2, 6, 3, 7};

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

std::string dims(std::initializer_list<int64_t> d) { return formats::shape_string(d); }

template <typename T>
T* make_buffer(LinearWeight& w, int64_t n) {
  auto buf = std::make_shared<std::vector<T>>(static_cast<size_t>(n));
  T* p = buf->data();
  w.storage.push_back(std::move(buf));
  return p;
}

uint32_t load_u32(const TensorView& t, int64_t idx) {
  uint32_t v;
  std::memcpy(&v, t.data + idx * 4, 4);
  return v;
}

float float_at(const TensorView& t, int64_t idx) {
  switch (t.dtype) {
    case DType::kF32: return t.as<float>()[idx];
    case DType::kBF16: return bf16_to_f32(t.as<uint16_t>()[idx]);
    case DType::kF16: return f16_to_f32(t.as<uint16_t>()[idx]);
    default: return 0.0f;  // excluded by the dtype checks
  }
}

// Looks up one layer's tensors and collects every problem found with them.
class Layer {
 public:
  Layer(const formats::Checkpoint& ck, std::string prefix) : ck_(ck), prefix_(std::move(prefix)) {}

  std::string name(const std::string& suffix) const { return prefix_ + "." + suffix; }
  const TensorView* find(const std::string& suffix) const { return ck_.find(name(suffix)); }
  const std::string& prefix() const { return prefix_; }

  void problem(std::string p) { problems_.push_back(std::move(p)); }
  bool ok() const { return problems_.empty(); }

  static std::string where(const TensorView& t) { return " (file " + t.file + ")"; }

  // A required companion tensor; records a problem naming what needs it when absent.
  const TensorView* require(const std::string& suffix, const std::string& why,
                            const std::string& want) {
    const TensorView* t = find(suffix);
    if (!t) problem(name(suffix) + ": missing (" + why + "; expected " + want + ")");
    return t;
  }

  bool expect_shape(const TensorView* t, const std::vector<int64_t>& want) {
    if (!t || t->shape == want) return t != nullptr;
    problem(t->name + ": shape " + formats::shape_string(t->shape) + " expected " +
            formats::shape_string(want) + where(*t));
    return false;
  }

  bool expect_dtype(const TensorView* t, std::initializer_list<DType> allowed) {
    if (!t) return false;
    for (DType d : allowed)
      if (t->dtype == d) return true;
    std::string want;
    for (DType d : allowed) want += (want.empty() ? "" : ", ") + std::string(dtype_name(d));
    problem(t->name + ": dtype " + dtype_name(t->dtype) + " expected " +
            (allowed.size() > 1 ? "one of " : "") + want + where(*t));
    return false;
  }

  // Tensors of other formats that must not sit next to this one.
  void forbid(std::initializer_list<const char*> suffixes, const std::string& why) {
    for (const char* s : suffixes)
      if (const TensorView* t = find(s))
        problem(t->name + ": unexpected next to " + why + where(*t));
  }

  Status status() const {
    std::string msg;
    for (const auto& p : problems_) msg += (msg.empty() ? "" : "\n") + p;
    return invalid_argument(msg);
  }

 private:
  const formats::Checkpoint& ck_;
  std::string prefix_;
  std::vector<std::string> problems_;
};

const std::initializer_list<DType> kScaleDTypes = {DType::kF32, DType::kBF16, DType::kF16};

// ---- float ------------------------------------------------------------------------------------

void load_float(Layer& L, const TensorView* w, int64_t out, int64_t in, LinearWeight& lw) {
  L.expect_shape(w, {out, in});
  L.forbid({"weight_scale_inv", "weight_scale", "weight_zero_point"},
           L.name("weight") + " of dtype " + dtype_name(w->dtype) +
               " (a scale needs a quantized weight)");
  if (!L.ok()) return;
  lw.format = w->dtype == DType::kF32    ? WeightFormat::kF32
              : w->dtype == DType::kBF16 ? WeightFormat::kBF16
                                         : WeightFormat::kF16;
  lw.values = w->data;  // zero-copy view of the mapped file
}

// ---- GGUF blocks --------------------------------------------------------------------------------

void load_ggml(Layer& L, const TensorView* w, int64_t out, int64_t in, LinearWeight& lw) {
  L.expect_shape(w, {out, in});
  L.forbid({"weight_scale_inv", "weight_scale", "qweight"}, "a GGUF " + L.name("weight"));
  if (!L.ok()) return;
  lw.format = WeightFormat::kGgml;
  lw.ggml_type = *w->ggml_blocks;
  lw.values = w->data;  // zero-copy view of the mapped file
}

// ---- DeepSeek block FP8 -------------------------------------------------------------------------

void load_fp8(Layer& L, const TensorView* w, const QuantConfig& qc, int64_t out, int64_t in,
              LinearWeight& lw) {
  L.expect_shape(w, {out, in});
  if (qc.method != QuantMethod::kFp8Block || qc.block_out <= 0 || qc.block_in <= 0) {
    L.problem(w->name + ": F8_E4M3 weight needs config.json quantization_config.quant_method "
              "'fp8' with weight_block_size, but the config has '" +
              quant_method_name(qc.method) + "'" + Layer::where(*w));
    return;
  }
  const int64_t nbo = ceil_div(out, qc.block_out), nbi = ceil_div(in, qc.block_in);
  const TensorView* s = L.require("weight_scale_inv", "an F8_E4M3 weight needs its block scales",
                                  "F32 " + dims({nbo, nbi}));
  L.expect_shape(s, {nbo, nbi});
  L.expect_dtype(s, kScaleDTypes);
  L.forbid({"weight_scale", "qweight"}, "an F8_E4M3 " + L.name("weight"));
  if (!L.ok()) return;
  lw.format = WeightFormat::kFp8Block;
  lw.values = w->data;
  lw.block_out = qc.block_out;
  lw.block_in = qc.block_in;
  if (s->dtype == DType::kF32) {
    lw.block_scale_inv = s->as<float>();
  } else {
    float* f = make_buffer<float>(lw, nbo * nbi);
    for (int64_t k = 0; k < nbo * nbi; ++k) f[k] = float_at(*s, k);
    lw.block_scale_inv = f;
  }
}

// ---- int8 per channel (compressed-tensors) ------------------------------------------------------

const TensorView* channel_scale(Layer& L, int64_t out) {
  const TensorView* s = L.require("weight_scale", "an int8 weight needs per-channel scales",
                                  dims({out, 1}));
  if (s && s->shape != std::vector<int64_t>{out} && s->shape != std::vector<int64_t>{out, 1})
    L.expect_shape(s, {out, 1});
  L.expect_dtype(s, kScaleDTypes);
  if (L.find("weight_zero_point"))
    L.problem(L.name("weight_zero_point") + ": asymmetric int8 is not supported (symmetric only)");
  return s;
}

void set_channel_scale(LinearWeight& lw, const TensorView& s, int64_t out) {
  if (s.dtype == DType::kF32) {
    lw.channel_scale = s.as<float>();
    return;
  }
  float* f = make_buffer<float>(lw, out);
  for (int64_t o = 0; o < out; ++o) f[o] = float_at(s, o);
  lw.channel_scale = f;
}

void load_int8(Layer& L, const TensorView* w, int64_t out, int64_t in, LinearWeight& lw) {
  L.expect_shape(w, {out, in});
  const TensorView* s = channel_scale(L, out);
  L.forbid({"weight_scale_inv", "weight_packed"}, "an I8 " + L.name("weight"));
  if (!L.ok()) return;
  lw.format = WeightFormat::kInt8Channel;
  lw.q8 = w->as<int8_t>();
  set_channel_scale(lw, *s, out);
}

// weight_packed I32 [out, ceil(in/4)]: input 4k+j is byte j of word k, stored as value + 128.
void load_int8_packed(Layer& L, const TensorView* p, int64_t out, int64_t in, LinearWeight& lw) {
  const int64_t words = ceil_div(in, 4);
  L.expect_dtype(p, {DType::kI32});
  if (p->shape != std::vector<int64_t>{out, words} && p->shape.size() == 2 &&
      p->shape[0] == out && p->shape[1] == ceil_div(in, 8))
    L.problem(p->name + ": shape " + formats::shape_string(p->shape) + " expected " +
              dims({out, words}) + " (looks 4-bit packed; only 8-bit pack-quantized is "
              "supported)" + Layer::where(*p));
  else
    L.expect_shape(p, {out, words});
  const TensorView* shape = L.require("weight_shape", "pack-quantized weights need their shape",
                                      "I64 [2]");
  if (L.expect_dtype(shape, {DType::kI64, DType::kI32}) && L.expect_shape(shape, {2})) {
    const int64_t so = shape->dtype == DType::kI64 ? shape->as<int64_t>()[0] : shape->as<int32_t>()[0];
    const int64_t si = shape->dtype == DType::kI64 ? shape->as<int64_t>()[1] : shape->as<int32_t>()[1];
    if (so != out || si != in)
      L.problem(shape->name + ": value " + dims({so, si}) + " expected " + dims({out, in}) +
                Layer::where(*shape));
  }
  const TensorView* s = channel_scale(L, out);
  L.forbid({"weight", "weight_scale_inv"}, L.name("weight_packed"));
  if (!L.ok()) return;
  lw.format = WeightFormat::kInt8Channel;
  int8_t* q = make_buffer<int8_t>(lw, out * in);
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i) {
      const uint32_t word = load_u32(*p, o * words + i / 4);
      const int v = static_cast<int>((word >> (8 * (i % 4))) & 0xffu) - 128;
      q[o * in + i] = static_cast<int8_t>(v);
    }
  lw.q8 = q;
  set_channel_scale(lw, *s, out);
}

// ---- 4-bit GPTQ / AWQ ----------------------------------------------------------------------------

// Group assignment of GPTQ's g_idx, turned into the cheapest kernel layout:
// contiguous groups (no index), a column permutation making groups contiguous (act-order), or
// a per-column group index.
void set_groups(LinearWeight& lw, const int32_t* g_idx, int64_t in, int64_t gs, int64_t G,
                std::vector<int32_t>& perm) {
  perm.clear();
  lw.group_size = static_cast<int32_t>(gs);
  lw.num_groups = static_cast<int32_t>(G);
  if (!g_idx) return;
  bool contiguous = true;
  for (int64_t i = 0; i < in && contiguous; ++i) contiguous = g_idx[i] == i / gs;
  if (contiguous) return;
  // Act-order: if every group has exactly the members a contiguous split would give it, a
  // stable sort of the columns by group makes the groups contiguous runs.
  std::vector<int64_t> count(static_cast<size_t>(G), 0);
  for (int64_t i = 0; i < in; ++i) ++count[g_idx[i]];
  bool regular = true;
  for (int64_t g = 0; g < G; ++g) regular &= count[g] == std::min(gs, in - g * gs);
  if (regular) {
    perm.resize(static_cast<size_t>(in));
    std::iota(perm.begin(), perm.end(), 0);
    std::stable_sort(perm.begin(), perm.end(),
                     [&](int32_t a, int32_t b) { return g_idx[a] < g_idx[b]; });
    int32_t* p = make_buffer<int32_t>(lw, in);
    std::copy(perm.begin(), perm.end(), p);
    lw.input_perm = p;
    return;
  }
  int32_t* gi = make_buffer<int32_t>(lw, in);
  std::copy(g_idx, g_idx + in, gi);
  lw.group_idx = gi;
}

void load_int4(Layer& L, const QuantConfig& qc, int64_t out, int64_t in, LinearWeight& lw) {
  const bool awq = qc.method == QuantMethod::kAwq;
  if (qc.method != QuantMethod::kGptq && !awq) {
    L.problem(L.name("qweight") + ": 4-bit tensors need config.json quantization_config."
              "quant_method 'gptq' or 'awq', but the config has '" +
              quant_method_name(qc.method) + "'");
    return;
  }
  const char* method = awq ? "awq" : "gptq";
  if (qc.bits != 4) {
    L.problem(L.prefix() + ": " + method + " bits " + std::to_string(qc.bits) +
              " is not supported (4 only)");
    return;
  }
  const int64_t gs = qc.group_size == -1 ? in : qc.group_size;
  if (gs <= 0) {
    L.problem(L.prefix() + ": group_size " + std::to_string(qc.group_size) + " is not valid");
    return;
  }
  const int64_t G = ceil_div(in, gs);
  // GPTQ packs 8 input rows per int32 of qweight; both pack 8 outputs per int32 of qzeros.
  if (!awq && in % 8)
    L.problem(L.prefix() + ": in_features " + std::to_string(in) +
              " is not a multiple of 8 (gptq packs 8 inputs per int32)");
  if (out % 8)
    L.problem(L.prefix() + ": out_features " + std::to_string(out) + " is not a multiple of 8 (" +
              method + " packs 8 outputs per int32 of qzeros)");
  if (!L.ok()) return;

  const std::vector<int64_t> qweight_shape = awq ? std::vector<int64_t>{in, out / 8}
                                                 : std::vector<int64_t>{in / 8, out};
  const std::string why = std::string(method) + " layer " + L.prefix() + " has 4-bit tensors";
  const TensorView* qw = L.require("qweight", why, "I32 " + formats::shape_string(qweight_shape));
  const TensorView* qz = L.require("qzeros", why, "I32 " + dims({G, out / 8}));
  const TensorView* sc = L.require("scales", why, "F16 " + dims({G, out}));
  L.expect_shape(qw, qweight_shape);
  L.expect_dtype(qw, {DType::kI32, DType::kU32});
  L.expect_shape(qz, {G, out / 8});
  L.expect_dtype(qz, {DType::kI32, DType::kU32});
  L.expect_shape(sc, {G, out});
  L.expect_dtype(sc, kScaleDTypes);
  const TensorView* gi = L.find("g_idx");
  if (awq && gi) L.problem(gi->name + ": unexpected for awq (gptq only)" + Layer::where(*gi));
  if (!awq && !gi && qc.desc_act)
    L.problem(L.name("g_idx") + ": missing (desc_act is true; expected I32 " + dims({in}) + ")");
  if (!awq && gi && L.expect_shape(gi, {in}) && L.expect_dtype(gi, {DType::kI32})) {
    int64_t num_bad = 0;
    std::string first;
    for (int64_t i = 0; i < in; ++i) {
      const int32_t g = gi->as<int32_t>()[i];
      if (g >= 0 && g < G) continue;
      if (num_bad++ == 0)
        first = "g_idx[" + std::to_string(i) + "] = " + std::to_string(g);
    }
    if (num_bad)
      L.problem(gi->name + ": " + std::to_string(num_bad) + " value(s) out of range [0, " +
                std::to_string(G) + "), first " + first + Layer::where(*gi));
  }
  L.forbid({"weight", "weight_scale_inv", "weight_packed"}, L.name("qweight"));
  if (!L.ok()) return;

  lw.format = WeightFormat::kInt4Grouped;
  std::vector<int32_t> perm;
  set_groups(lw, (awq || !gi) ? nullptr : gi->as<int32_t>(), in, gs, G, perm);

  // Codes: q4 [out, ceil(in/2)], stored column j in nibble j % 2 of byte j / 2.
  const int64_t row_bytes = (in + 1) / 2;
  uint8_t* q4 = make_buffer<uint8_t>(lw, out * row_bytes);
  auto code = [&](int64_t o, int64_t i) -> uint32_t {  // W's code at [o, i]
    if (awq) return (load_u32(*qw, i * (out / 8) + o / 8) >> (4 * kAwqReverseOrder[o % 8])) & 0xf;
    return (load_u32(*qw, (i / 8) * out + o) >> (4 * (i % 8))) & 0xf;
  };
  if (!awq && perm.empty()) {
    // GPTQ word qweight[r, o] holds inputs 8r..8r+7 low nibble first: exactly the 4 bytes
    // q4[o, 4r..4r+3]. A transpose of 32-bit words.
    for (int64_t r = 0; r < in / 8; ++r)
      for (int64_t o = 0; o < out; ++o) std::memcpy(q4 + o * row_bytes + 4 * r, qw->data + (r * out + o) * 4, 4);
  } else {
    for (int64_t o = 0; o < out; ++o)
      for (int64_t j = 0; j < in; ++j) {
        const uint32_t q = code(o, perm.empty() ? j : perm[j]);
        uint8_t& b = q4[o * row_bytes + j / 2];
        b = static_cast<uint8_t>((j & 1) ? (b | (q << 4)) : q);
      }
  }
  // Scales and zeros, transposed to [out, G]. GPTQ v1 stores zero - 1 per nibble; adding the 1
  // back is not masked (a stored 0xf means 16), as AutoGPTQ and vLLM read it.
  float* scales = make_buffer<float>(lw, out * G);
  uint8_t* zeros = make_buffer<uint8_t>(lw, out * G);
  const uint32_t zero_offset = (!awq && !qc.gptq_v2) ? 1 : 0;
  for (int64_t g = 0; g < G; ++g)
    for (int64_t o = 0; o < out; ++o) {
      const uint32_t word = load_u32(*qz, g * (out / 8) + o / 8);
      const int shift = 4 * (awq ? kAwqReverseOrder[o % 8] : static_cast<int>(o % 8));
      zeros[o * G + g] = static_cast<uint8_t>(((word >> shift) & 0xf) + zero_offset);
      scales[o * G + g] = float_at(*sc, g * out + o);
    }
  lw.q4 = q4;
  lw.group_scale = scales;
  lw.group_zero = zeros;
}

}  // namespace

Result<LinearWeight> load_linear(const formats::Checkpoint& ck, const std::string& prefix,
                                 const QuantConfig& qc, int64_t out_features,
                                 int64_t in_features) {
  const int64_t out = out_features, in = in_features;
  if (out <= 0 || in <= 0 || out >= kMaxDim || in >= kMaxDim)
    return invalid_argument(prefix + ": expected shape " + dims({out, in}) + " is not valid");
  Layer L(ck, prefix);
  LinearWeight lw;
  lw.out_features = out;
  lw.in_features = in;

  const TensorView* w = L.find("weight");
  if (w && w->ggml_blocks) {
    load_ggml(L, w, out, in, lw);
  } else if (L.find("qweight") || (!w && (L.find("qzeros") || L.find("scales") || L.find("g_idx")))) {
    load_int4(L, qc, out, in, lw);
  } else if (const TensorView* p = L.find("weight_packed")) {
    load_int8_packed(L, p, out, in, lw);
  } else if (w) {
    switch (w->dtype) {
      case DType::kF32:
      case DType::kBF16:
      case DType::kF16: load_float(L, w, out, in, lw); break;
      case DType::kF8E4M3: load_fp8(L, w, qc, out, in, lw); break;
      case DType::kI8: load_int8(L, w, out, in, lw); break;
      default:
        L.problem(w->name + ": dtype " + dtype_name(w->dtype) +
                  " expected one of F32, BF16, F16, F8_E4M3, I8" + Layer::where(*w));
    }
  } else {
    std::string present;
    for (const char* s : {"weight_scale_inv", "weight_scale", "weight_shape", "weight_zero_point"})
      if (const TensorView* t = L.find(s)) present += (present.empty() ? "" : ", ") + t->name;
    if (!present.empty())
      return invalid_argument(L.name("weight") + ": missing, but its companion(s) " + present +
                              " are present (expected shape " + dims({out, in}) + ")");
    return not_found(L.name("weight") + ": missing (expected shape " + dims({out, in}) +
                     "; no " + L.name("qweight") + " or " + L.name("weight_packed") +
                     " either) in " + ck.dir());
  }
  if (!L.ok()) return L.status();
  return lw;
}

}  // namespace fathom::model
