// load_linear on hand-made checkpoints: every format's happy path, and every kind of bad input
// giving a clear error that names the tensor, its file and both shapes or dtypes.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "formats/checkpoint.h"
#include "formats/safetensors.h"
#include "kernels/linear.h"
#include "model/linear_loader.h"
#include "support/temp_dir.h"

namespace fathom::model {
namespace {

using formats::OwnedTensor;
using kernels::WeightFormat;

const std::string kP = "model.layers.3.self_attn.q_proj";

template <typename T>
OwnedTensor tensor(const std::string& suffix, DType dtype, std::vector<int64_t> shape,
                   const std::vector<T>& values) {
  OwnedTensor t{kP + "." + suffix, dtype, std::move(shape), {}};
  t.bytes.resize(values.size() * sizeof(T));
  std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
  return t;
}

template <typename T>
OwnedTensor filled(const std::string& suffix, DType dtype, std::vector<int64_t> shape, T value) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return tensor<T>(suffix, dtype, shape, std::vector<T>(static_cast<size_t>(n), value));
}

class LinearLoader : public ::testing::Test {
 protected:
  // Writes the tensors as model.safetensors and loads PREFIX as [out, in].
  Result<kernels::LinearWeight> load(const std::vector<OwnedTensor>& tensors, int64_t out,
                                     int64_t in, const QuantConfig& qc = {}) {
    EXPECT_TRUE(formats::write_safetensors(dir_.file("model.safetensors"), tensors).ok());
    auto ck = formats::Checkpoint::open(dir_.path());
    EXPECT_TRUE(ck.ok()) << ck.status().to_string();
    if (!ck.ok()) return ck.status();
    ck_ = std::make_unique<formats::Checkpoint>(std::move(*ck));
    return load_linear(*ck_, kP, qc, out, in);
  }
  std::string file() const { return dir_.file("model.safetensors"); }

  static QuantConfig gptq(int32_t group_size, bool desc_act = false) {
    QuantConfig qc;
    qc.method = QuantMethod::kGptq;
    qc.bits = 4;
    qc.group_size = group_size;
    qc.desc_act = desc_act;
    return qc;
  }
  static QuantConfig fp8(int32_t bo, int32_t bi) {
    QuantConfig qc;
    qc.method = QuantMethod::kFp8Block;
    qc.block_out = bo;
    qc.block_in = bi;
    return qc;
  }

  // A valid GPTQ layer [out=8, in=16], group 8: qweight I32 [2, 8], qzeros I32 [2, 1],
  // scales F16 [2, 8], g_idx I32 [16].
  static std::vector<OwnedTensor> gptq_layer() {
    std::vector<int32_t> g_idx(16);
    for (int i = 0; i < 16; ++i) g_idx[i] = i / 8;
    return {filled<int32_t>("qweight", DType::kI32, {2, 8}, 0x76543210),
            filled<int32_t>("qzeros", DType::kI32, {2, 1}, 0x77777777),
            filled<uint16_t>("scales", DType::kF16, {2, 8}, 0x3c00),  // 1.0
            tensor<int32_t>("g_idx", DType::kI32, {16}, g_idx)};
  }

  fathom::testing::TempDir dir_;
  std::unique_ptr<formats::Checkpoint> ck_;
};

void expect_contains(const Status& s, const std::string& needle) {
  EXPECT_NE(s.message().find(needle), std::string::npos)
      << "message:\n" << s.message() << "\nshould contain: " << needle;
}

// ---- happy paths --------------------------------------------------------------------------------

TEST_F(LinearLoader, Bf16WeightIsAZeroCopyView) {
  auto w = load({filled<uint16_t>("weight", DType::kBF16, {4, 6}, 0x3f80)}, 4, 6);
  ASSERT_TRUE(w.ok()) << w.status().to_string();
  EXPECT_EQ(w->format, WeightFormat::kBF16);
  EXPECT_EQ(w->values, ck_->find(kP + ".weight")->data);
  EXPECT_TRUE(w->storage.empty());
  float row[6];
  kernels::dequantize_row(*w, 3, row);
  EXPECT_EQ(row[5], 1.0f);
}

TEST_F(LinearLoader, GptqV1AddsOneToStoredZeros) {
  auto w = load(gptq_layer(), 8, 16, gptq(8));
  ASSERT_TRUE(w.ok()) << w.status().to_string();
  EXPECT_EQ(w->format, WeightFormat::kInt4Grouped);
  EXPECT_EQ(w->group_idx, nullptr);  // g_idx == i / group_size: contiguous groups
  EXPECT_EQ(w->input_perm, nullptr);
  float row[16];
  kernels::dequantize_row(*w, 5, row);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(row[i], static_cast<float>(i % 8 - 8)) << i;
}

TEST_F(LinearLoader, Fp8UsesBlockSizeFromConfig) {
  auto w = load({filled<uint8_t>("weight", DType::kF8E4M3, {5, 9}, 0x38),  // 1.0
                 filled<float>("weight_scale_inv", DType::kF32, {3, 2}, 0.25f)},
                5, 9, fp8(2, 8));
  ASSERT_TRUE(w.ok()) << w.status().to_string();
  EXPECT_EQ(w->format, WeightFormat::kFp8Block);
  float row[9];
  kernels::dequantize_row(*w, 4, row);
  EXPECT_EQ(row[8], 0.25f);
}

// ---- errors ----------------------------------------------------------------------------------------

TEST_F(LinearLoader, MissingWeightIsNotFoundAndNamesTheTensor) {
  auto w = load({filled<float>("bias", DType::kF32, {8}, 0.0f)}, 8, 16);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), Code::kNotFound);
  expect_contains(w.status(), kP + ".weight: missing (expected shape [8, 16]");
}

TEST_F(LinearLoader, WrongShapeNamesTensorFileAndBothShapes) {
  auto w = load({filled<float>("weight", DType::kF32, {8, 15}, 0.0f)}, 8, 16);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), Code::kInvalidArgument);
  expect_contains(w.status(), kP + ".weight: shape [8, 15] expected [8, 16] (file " + file() + ")");
}

TEST_F(LinearLoader, WrongWeightDtype) {
  auto w = load({filled<int32_t>("weight", DType::kI32, {8, 16}, 0)}, 8, 16);
  ASSERT_FALSE(w.ok());
  expect_contains(w.status(), kP + ".weight: dtype I32 expected one of F32, BF16, F16, F8_E4M3, I8");
}

TEST_F(LinearLoader, ScaleWithoutWeight) {
  auto w = load({filled<float>("weight_scale_inv", DType::kF32, {1, 1}, 1.0f)}, 8, 16, fp8(128, 128));
  ASSERT_FALSE(w.ok());
  expect_contains(w.status(), kP + ".weight: missing, but its companion(s) " + kP +
                                  ".weight_scale_inv are present");
}

TEST_F(LinearLoader, ScaleNextToAFloatWeight) {
  auto w = load({filled<uint16_t>("weight", DType::kBF16, {8, 16}, 0),
                 filled<float>("weight_scale_inv", DType::kF32, {1, 1}, 1.0f)},
                8, 16, fp8(128, 128));
  ASSERT_FALSE(w.ok());
  expect_contains(w.status(), kP + ".weight_scale_inv: unexpected next to");
}

TEST_F(LinearLoader, Fp8WithoutScaleOrConfig) {
  auto w = load({filled<uint8_t>("weight", DType::kF8E4M3, {8, 16}, 0)}, 8, 16, fp8(4, 4));
  ASSERT_FALSE(w.ok());
  expect_contains(w.status(), kP + ".weight_scale_inv: missing");
  expect_contains(w.status(), "[2, 4]");

  auto no_cfg = load({filled<uint8_t>("weight", DType::kF8E4M3, {8, 16}, 0),
                      filled<float>("weight_scale_inv", DType::kF32, {1, 1}, 1.0f)},
                     8, 16);
  ASSERT_FALSE(no_cfg.ok());
  expect_contains(no_cfg.status(), "quant_method 'fp8'");
  expect_contains(no_cfg.status(), "'none'");
}

TEST_F(LinearLoader, Fp8ScaleShapeAndDtypeChecked) {
  // 130 x 200 with 128 x 128 blocks: scale must be [2, 2] (partial edge blocks).
  auto w = load({filled<uint8_t>("weight", DType::kF8E4M3, {130, 200}, 0),
                 filled<int32_t>("weight_scale_inv", DType::kI32, {1, 2}, 1)},
                130, 200, fp8(128, 128));
  ASSERT_FALSE(w.ok());
  expect_contains(w.status(), kP + ".weight_scale_inv: shape [1, 2] expected [2, 2] (file ");
  expect_contains(w.status(), kP + ".weight_scale_inv: dtype I32 expected one of F32, BF16, F16");
}

TEST_F(LinearLoader, GptqReportsEveryProblemAtOnce) {
  auto t = gptq_layer();
  t[0] = filled<int32_t>("qweight", DType::kI32, {8, 64}, 0);     // wrong shape
  t[2] = filled<float>("scales", DType::kI32, {2, 8}, 0.0f);      // wrong dtype
  t.erase(t.begin() + 1);                                         // no qzeros
  auto w = load(t, 8, 16, gptq(8));
  ASSERT_FALSE(w.ok());
  expect_contains(w.status(), kP + ".qweight: shape [8, 64] expected [2, 8] (file " + file() + ")");
  expect_contains(w.status(), kP + ".qzeros: missing");
  expect_contains(w.status(), kP + ".scales: dtype I32 expected");
  EXPECT_GE(std::count(w.status().message().begin(), w.status().message().end(), '\n'), 2);
}

TEST_F(LinearLoader, GptqGroupIndexOutOfRange) {
  auto t = gptq_layer();
  std::vector<int32_t> g_idx(16, 0);
  g_idx[7] = 99;
  g_idx[9] = -1;
  t[3] = tensor<int32_t>("g_idx", DType::kI32, {16}, g_idx);
  auto w = load(t, 8, 16, gptq(8));
  ASSERT_FALSE(w.ok());
  expect_contains(w.status(), kP + ".g_idx: 2 value(s) out of range [0, 2), first g_idx[7] = 99");
}

TEST_F(LinearLoader, GptqDescActNeedsGroupIndex) {
  auto t = gptq_layer();
  t.pop_back();
  auto w = load(t, 8, 16, gptq(8, /*desc_act=*/true));
  ASSERT_FALSE(w.ok());
  expect_contains(w.status(), kP + ".g_idx: missing (desc_act is true");
}

TEST_F(LinearLoader, GptqActOrderBecomesAPermutation) {
  auto t = gptq_layer();
  std::vector<int32_t> g_idx(16);
  for (int i = 0; i < 16; ++i) g_idx[i] = i % 2;  // groups interleaved, 8 members each
  t[3] = tensor<int32_t>("g_idx", DType::kI32, {16}, g_idx);
  auto w = load(t, 8, 16, gptq(8, true));
  ASSERT_TRUE(w.ok()) << w.status().to_string();
  ASSERT_NE(w->input_perm, nullptr);
  EXPECT_EQ(w->group_idx, nullptr);
  EXPECT_EQ(w->input_perm[0], 0);
  EXPECT_EQ(w->input_perm[1], 2);
  EXPECT_EQ(w->input_perm[8], 1);

  // Uneven groups cannot be made contiguous by sorting: kept as a per-column index.
  for (int i = 0; i < 16; ++i) g_idx[i] = i < 3 ? 1 : 0;
  t[3] = tensor<int32_t>("g_idx", DType::kI32, {16}, g_idx);
  auto u = load(t, 8, 16, gptq(8, true));
  ASSERT_TRUE(u.ok()) << u.status().to_string();
  EXPECT_EQ(u->input_perm, nullptr);
  ASSERT_NE(u->group_idx, nullptr);
  EXPECT_EQ(u->group_idx[0], 1);
}

TEST_F(LinearLoader, GptqInputNotMultipleOfEight) {
  auto w = load(gptq_layer(), 8, 12, gptq(4));
  ASSERT_FALSE(w.ok());
  expect_contains(w.status(), kP + ": in_features 12 is not a multiple of 8");
}

TEST_F(LinearLoader, FourBitTensorsWithoutMatchingConfig) {
  auto w = load(gptq_layer(), 8, 16);
  ASSERT_FALSE(w.ok());
  expect_contains(w.status(), kP + ".qweight: 4-bit tensors need");
  expect_contains(w.status(), "'none'");

  QuantConfig awq = gptq(8);
  awq.method = QuantMethod::kAwq;  // AWQ reads qweight as [in, out / 8] = [16, 1]
  auto a = load(gptq_layer(), 8, 16, awq);
  ASSERT_FALSE(a.ok());
  expect_contains(a.status(), kP + ".qweight: shape [2, 8] expected [16, 1]");
  expect_contains(a.status(), kP + ".g_idx: unexpected for awq");
}

TEST_F(LinearLoader, Int8PackedChecksShapeValueAndScale) {
  auto w = load({filled<int32_t>("weight_packed", DType::kI32, {8, 4}, 0),
                 tensor<int64_t>("weight_shape", DType::kI64, {2}, {8, 15})},
                8, 16);
  ASSERT_FALSE(w.ok());
  expect_contains(w.status(), kP + ".weight_shape: value [8, 15] expected [8, 16]");
  expect_contains(w.status(), kP + ".weight_scale: missing");
}

TEST_F(LinearLoader, Int8PackedUnpacksOffsetBytes) {
  // bytes 0x00, 0x80, 0xff, 0x81 -> -128, 0, 127, 1
  auto w = load({filled<int32_t>("weight_packed", DType::kI32, {2, 1},
                                 static_cast<int32_t>(0x81ff8000u)),
                 tensor<int64_t>("weight_shape", DType::kI64, {2}, {2, 3}),
                 filled<float>("weight_scale", DType::kF32, {2, 1}, 0.5f)},
                2, 3);
  ASSERT_TRUE(w.ok()) << w.status().to_string();
  float row[3];
  kernels::dequantize_row(*w, 1, row);
  EXPECT_EQ(row[0], -64.0f);
  EXPECT_EQ(row[1], 0.0f);
  EXPECT_EQ(row[2], 63.5f);
}

TEST_F(LinearLoader, Int8ScaleShapeChecked) {
  auto w = load({filled<int8_t>("weight", DType::kI8, {8, 16}, 1),
                 filled<float>("weight_scale", DType::kF32, {8, 2}, 1.0f)},
                8, 16);
  ASSERT_FALSE(w.ok());
  expect_contains(w.status(), kP + ".weight_scale: shape [8, 2] expected [8, 1]");
}

TEST_F(LinearLoader, BadExpectedShape) {
  auto w = load({filled<float>("weight", DType::kF32, {1, 1}, 0.0f)}, 0, 16);
  ASSERT_FALSE(w.ok());
  expect_contains(w.status(), "[0, 16]");
}


// ---- robustness: every single-tensor corruption of valid layers gives a Status, never a crash ----

struct ValidLayer {
  const char* name;
  std::vector<OwnedTensor> tensors;
  QuantConfig qc;
  int64_t out, in;
};

std::vector<ValidLayer> valid_layers() {
  std::vector<ValidLayer> v;
  QuantConfig g;
  g.method = QuantMethod::kGptq;
  g.bits = 4;
  g.group_size = 8;
  g.desc_act = true;
  std::vector<int32_t> g_idx(16);
  for (int i = 0; i < 16; ++i) g_idx[i] = (i * 5) % 2;
  v.push_back({"gptq",
               {filled<int32_t>("qweight", DType::kI32, {2, 8}, 0x76543210),
                filled<int32_t>("qzeros", DType::kI32, {2, 1}, 0x77777777),
                filled<uint16_t>("scales", DType::kF16, {2, 8}, 0x3c00),
                tensor<int32_t>("g_idx", DType::kI32, {16}, g_idx)},
               g, 8, 16});
  QuantConfig a = g;
  a.method = QuantMethod::kAwq;
  a.desc_act = false;
  v.push_back({"awq",
               {filled<int32_t>("qweight", DType::kI32, {16, 1}, 0x12345678),
                filled<int32_t>("qzeros", DType::kI32, {2, 1}, 0x11111111),
                filled<uint16_t>("scales", DType::kF16, {2, 8}, 0x3c00)},
               a, 8, 16});
  QuantConfig f;
  f.method = QuantMethod::kFp8Block;
  f.block_out = 4;
  f.block_in = 8;
  v.push_back({"fp8",
               {filled<uint8_t>("weight", DType::kF8E4M3, {6, 12}, 0x38),
                filled<float>("weight_scale_inv", DType::kF32, {2, 2}, 0.5f)},
               f, 6, 12});
  v.push_back({"int8_packed",
               {filled<int32_t>("weight_packed", DType::kI32, {3, 3}, 0x01020304),
                tensor<int64_t>("weight_shape", DType::kI64, {2}, {3, 10}),
                filled<uint16_t>("weight_scale", DType::kBF16, {3, 1}, 0x3f80)},
               {}, 3, 10});
  v.push_back({"int8",
               {filled<int8_t>("weight", DType::kI8, {3, 10}, -5),
                filled<float>("weight_scale", DType::kF32, {3}, 2.0f)},
               {}, 3, 10});
  return v;
}

// Single-tensor mutations: drop it, retype it, reshape it, fill it with 0xff bytes.
std::vector<std::pair<std::string, std::vector<OwnedTensor>>> corruptions(
    const std::vector<OwnedTensor>& base) {
  std::vector<std::pair<std::string, std::vector<OwnedTensor>>> out;
  for (size_t k = 0; k < base.size(); ++k) {
    const std::string n = base[k].name;
    auto drop = base;
    drop.erase(drop.begin() + static_cast<std::ptrdiff_t>(k));
    out.push_back({"drop " + n, drop});
    for (DType d : {DType::kF32, DType::kF16, DType::kI32, DType::kI8, DType::kU8, DType::kI64,
                    DType::kF8E4M3, DType::kBF16}) {
      auto t = base;
      const int64_t bytes = static_cast<int64_t>(t[k].bytes.size());
      if (d == t[k].dtype || bytes % dtype_size(d)) continue;
      t[k].dtype = d;
      t[k].shape = {bytes / dtype_size(d)};
      out.push_back({"retype " + n + " as " + dtype_name(d), t});
    }
    if (base[k].shape.size() == 2) {
      auto t = base;
      std::swap(t[k].shape[0], t[k].shape[1]);
      out.push_back({"transpose " + n, t});
    }
    auto grow = base;
    grow[k].shape[0] += 1;
    int64_t row = static_cast<int64_t>(grow[k].bytes.size()) / base[k].shape[0];
    grow[k].bytes.resize(grow[k].bytes.size() + static_cast<size_t>(row), 0);
    out.push_back({"grow " + n, grow});
    auto ff = base;
    std::fill(ff[k].bytes.begin(), ff[k].bytes.end(), 0xff);
    out.push_back({"0xff " + n, ff});
  }
  return out;
}

TEST_F(LinearLoader, SurvivesEveryCorruptionOfValidLayers) {
  ThreadPool pool(2);
  int num_errors = 0, num_loaded = 0;
  for (const ValidLayer& layer : valid_layers()) {
    auto good = load(layer.tensors, layer.out, layer.in, layer.qc);
    ASSERT_TRUE(good.ok()) << layer.name << ": " << good.status().to_string();
    for (const auto& [what, tensors] : corruptions(layer.tensors)) {
      SCOPED_TRACE(std::string(layer.name) + ": " + what);
      auto w = load(tensors, layer.out, layer.in, layer.qc);
      if (!w.ok()) {
        ++num_errors;
        // Every error names the layer's tensors.
        EXPECT_NE(w.status().message().find(kP), std::string::npos) << w.status().message();
        continue;
      }
      // Loaded (e.g. 0xff codes are valid data): the kernels must stay in bounds (ASan).
      ++num_loaded;
      std::vector<float> row(static_cast<size_t>(layer.in)), x(static_cast<size_t>(layer.in), 1.0f),
          y(static_cast<size_t>(layer.out));
      for (int64_t o = 0; o < layer.out; ++o) kernels::dequantize_row(*w, o, row.data());
      kernels::linear_cpu(*w, x.data(), 1, y.data(), pool);
    }
  }
  EXPECT_GT(num_errors, 40);
  EXPECT_GT(num_loaded, 0);
}

}  // namespace
}  // namespace fathom::model
