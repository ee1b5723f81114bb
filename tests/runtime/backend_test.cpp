// runtime::Backend: the CPU backend's linear and attention ops against the reference backend
// (the oracle) on random inputs of odd shapes, every op of both backends against values
// computed here, and buffer allocation and copies.
#include "runtime/backend.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "kernels/linear_test_weights.h"

namespace fathom::runtime {
namespace {

using kernels::LinearWeight;
using kernels::WeightFormat;
using kernels::testing::make_weight;
using kernels::testing::random_input;
using kernels::testing::WeightSpec;

std::vector<float> to_host(Backend& be, const Buffer& b) {
  std::vector<float> out(static_cast<size_t>(b.numel()));
  be.copy_to_host(out.data(), b, b.size_bytes());
  return out;
}

Buffer from_host(Backend& be, const std::vector<float>& v) {
  Buffer b = be.alloc({static_cast<int64_t>(v.size())});
  be.copy_from_host(b, v.data(), b.size_bytes());
  return b;
}

void expect_close(const std::vector<float>& got, const std::vector<float>& want, float tol,
                  const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], tol * (1.0f + std::fabs(want[i]))) << what << " at " << i;
}

std::unique_ptr<Backend> make(const std::string& name) {
  return name == "cpu" ? make_cpu_backend() : make_reference_backend();
}

// --- every backend, against values computed here ---------------------------------------------

class EachBackend : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<Backend> be_ = make(GetParam());
};

TEST_P(EachBackend, NamesItself) { EXPECT_EQ(be_->name(), GetParam()); }

TEST_P(EachBackend, AllocatesZeroedBuffersOfTheirShape) {
  const Buffer b = be_->alloc({3, 5, 7});
  EXPECT_EQ(b.shape(), (std::vector<int64_t>{3, 5, 7}));
  EXPECT_EQ(b.numel(), 105);
  EXPECT_EQ(b.size_bytes(), 420);
  EXPECT_EQ(b.dtype(), DType::kF32);
  const auto v = to_host(*be_, b);
  EXPECT_TRUE(std::all_of(v.begin(), v.end(), [](float x) { return x == 0.0f; }));
  const Buffer ids = be_->alloc({4}, DType::kI32);
  EXPECT_EQ(ids.size_bytes(), 16);
  EXPECT_TRUE(Buffer().empty());
}

TEST_P(EachBackend, CopiesRoundTripThroughHostAndBackend) {
  const std::vector<float> src = random_input(1, 37, 3);
  const Buffer a = from_host(*be_, src);
  const Buffer b = be_->alloc({37});
  be_->copy(b.f32(), a.f32(), 37);
  EXPECT_EQ(to_host(*be_, b), src);
  be_->copy(b.f32() + 1, a.f32(), 5);  // inside a buffer
  EXPECT_EQ(to_host(*be_, b)[3], src[2]);
  be_->fill(b.f32() + 30, -2.5f, 7);
  EXPECT_EQ(to_host(*be_, b)[36], -2.5f);
  EXPECT_EQ(to_host(*be_, b)[29], src[29]);
}

TEST_P(EachBackend, ReserveReusesMemoryUntilItMustGrow) {
  Buffer b;
  be_->reserve(b, 10);
  EXPECT_EQ(b.numel(), 10);
  void* first = b.handle();
  be_->reserve(b, 4);
  EXPECT_EQ(b.handle(), first);
  be_->reserve(b, 11);
  EXPECT_EQ(b.numel(), 11);
}

TEST_P(EachBackend, ElementwiseOpsMatchTheirDefinitions) {
  const int64_t rows = 3, dim = 13;
  const std::vector<float> x = random_input(rows, dim, 5), y = random_input(rows, dim, 6);
  const std::vector<float> w = random_input(1, dim, 7);
  const float eps = 1e-5f;

  const Buffer bx = from_host(*be_, x), by = from_host(*be_, y), out = be_->alloc({rows, dim});
  be_->rms_norm(bx.f32(), w.data(), rows, dim, eps, out.f32());
  std::vector<float> want(x.size());
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t j = 0; j < dim; ++j) ss += double(x[r * dim + j]) * x[r * dim + j];
    const double inv = 1.0 / std::sqrt(ss / dim + eps);
    for (int64_t j = 0; j < dim; ++j) want[r * dim + j] = float(x[r * dim + j] * inv * w[j]);
  }
  expect_close(to_host(*be_, out), want, 1e-5f, "rms_norm");

  be_->silu_mul(bx.f32(), by.f32(), rows * dim, out.f32());
  for (size_t i = 0; i < x.size(); ++i) want[i] = x[i] / (1.0f + std::exp(-x[i])) * y[i];
  expect_close(to_host(*be_, out), want, 1e-5f, "silu_mul");

  be_->add_bias(bx.f32(), w.data(), rows, dim);
  for (size_t i = 0; i < x.size(); ++i) want[i] = x[i] + w[i % dim];
  expect_close(to_host(*be_, bx), want, 1e-6f, "add_bias");

  be_->add(bx.f32(), by.f32(), rows * dim);
  for (size_t i = 0; i < x.size(); ++i) want[i] += y[i];
  expect_close(to_host(*be_, bx), want, 1e-6f, "add");
}

TEST_P(EachBackend, RopeRotatesEachPairByPositionTimesFrequency) {
  for (auto style : {kernels::RopeStyle::kNeox, kernels::RopeStyle::kInterleaved}) {
    kernels::RopeTable table{{1.0f, 0.25f}, 1.0f, style};
    const int64_t n = 2, heads = 3, stride = 7, offset = 2;  // rot_dim 4 inside stride 7
    const std::vector<int32_t> pos = {0, 5};
    const std::vector<float> x = random_input(n * heads, stride, 9);
    const Buffer b = from_host(*be_, x);
    be_->rope(table, pos.data(), n, heads, stride, offset, b.f32());
    std::vector<float> want = x;
    for (int64_t t = 0; t < n; ++t)
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t i = 0; i < 2; ++i) {
          float* v = want.data() + (t * heads + h) * stride + offset;
          const int64_t a = style == kernels::RopeStyle::kNeox ? i : 2 * i;
          const int64_t c = style == kernels::RopeStyle::kNeox ? i + 2 : 2 * i + 1;
          const double ang = pos[t] * table.inv_freq[i];
          const float x0 = v[a], x1 = v[c];
          v[a] = float(x0 * std::cos(ang) - x1 * std::sin(ang));
          v[c] = float(x1 * std::cos(ang) + x0 * std::sin(ang));
        }
    expect_close(to_host(*be_, b), want, 1e-5f, "rope");
  }
}

TEST_P(EachBackend, EmbedGathersDequantizedRows) {
  const LinearWeight table = make_weight({.format = WeightFormat::kBF16, .out = 11, .in = 9});
  const std::vector<int32_t> ids = {10, 0, 10, 4};
  const Buffer out = be_->alloc({4, 9});
  be_->embed(table, ids.data(), 4, out.f32());
  const auto got = to_host(*be_, out);
  const auto* v = static_cast<const uint16_t*>(table.values);
  for (int64_t t = 0; t < 4; ++t)
    for (int64_t j = 0; j < 9; ++j)
      EXPECT_EQ(got[t * 9 + j], bf16_to_f32(v[ids[t] * 9 + j])) << t << "," << j;
}

TEST_P(EachBackend, HeadMajorLayoutsAreInverse) {
  const int64_t n = 3, heads = 4, stride = 10, offset = 3, width = 5;
  const std::vector<float> x = random_input(n * heads, stride, 11);
  const Buffer src = from_host(*be_, x), hm = be_->alloc({heads, n, width}),
               back = be_->alloc({n, heads, width});
  be_->to_head_major(src.f32(), n, heads, stride, offset, width, hm.f32());
  const auto h = to_host(*be_, hm);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t hd = 0; hd < heads; ++hd)
      for (int64_t j = 0; j < width; ++j)
        ASSERT_EQ(h[(hd * n + t) * width + j], x[(t * heads + hd) * stride + offset + j]);
  be_->from_head_major(hm.f32(), n, heads, width, back.f32());
  const auto b = to_host(*be_, back);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t hd = 0; hd < heads; ++hd)
      for (int64_t j = 0; j < width; ++j)
        ASSERT_EQ(b[(t * heads + hd) * width + j], x[(t * heads + hd) * stride + offset + j]);
}

TEST_P(EachBackend, GatherAndWeightedScatterOfRows) {
  const int64_t width = 6;
  const std::vector<float> x = random_input(5, width, 13);
  const std::vector<int64_t> rows = {4, 1, 4};
  const Buffer src = from_host(*be_, x), dst = be_->alloc({3, 2 * width});
  be_->gather_rows(src.f32(), width, rows, dst.f32(), 2 * width, width);  // right halves
  const auto g = to_host(*be_, dst);
  for (size_t i = 0; i < rows.size(); ++i)
    for (int64_t j = 0; j < width; ++j) {
      EXPECT_EQ(g[i * 2 * width + j], 0.0f);
      EXPECT_EQ(g[i * 2 * width + width + j], x[rows[i] * width + j]);
    }

  const std::vector<float> ys = random_input(3, width, 14), wt = {0.5f, -2.0f, 3.0f};
  const Buffer bys = from_host(*be_, ys), out = from_host(*be_, x);
  be_->scatter_add_rows(bys.f32(), width, rows, wt, out.f32());
  std::vector<float> want = x;
  for (size_t i = 0; i < rows.size(); ++i)
    for (int64_t j = 0; j < width; ++j) want[rows[i] * width + j] += wt[i] * ys[i * width + j];
  expect_close(to_host(*be_, out), want, 1e-6f, "scatter_add_rows");
}

TEST_P(EachBackend, WriteKvConcatenatesPartsIntoEachTokensEntry) {
  // Two sequences over scattered blocks of 2; a strided part (MLA's k_rope inside its row).
  const int32_t block = 2, entry = 5;
  std::vector<float> cache_data(6 * block * entry, -1.0f);
  const kernels::PagedCache cache{cache_data.data(), 6, block, entry};
  const std::vector<std::vector<int32_t>> tables = {{4, 1}, {0, 5, 2}};
  const std::vector<int32_t> pos = {3, 0, 4}, seq = {0, 1, 1};
  const kernels::TokenLayout tokens{pos.data(), seq.data(), &tables, 3};
  const std::vector<float> a = random_input(3, 3, 15), row = random_input(3, 4, 16);
  const Buffer ba = from_host(*be_, a), brow = from_host(*be_, row);
  const KvPart parts[] = {{ba.f32(), 3, 3}, {brow.f32() + 2, 2, 4}};
  be_->write_kv(cache, tokens, parts);
  for (int64_t t = 0; t < 3; ++t) {
    const float* e = cache.entry_as<float>(tables[seq[t]], pos[t]);
    for (int64_t j = 0; j < 3; ++j) EXPECT_EQ(e[j], a[t * 3 + j]);
    for (int64_t j = 0; j < 2; ++j) EXPECT_EQ(e[3 + j], row[t * 4 + 2 + j]);
  }
  EXPECT_EQ(std::count(cache_data.begin(), cache_data.end(), -1.0f),
            static_cast<long>(cache_data.size()) - 3 * entry);
}

INSTANTIATE_TEST_SUITE_P(Backends, EachBackend, ::testing::Values("cpu", "reference"),
                         [](const auto& param_info) { return param_info.param; });

// --- the CPU backend against the reference backend ------------------------------------------

struct Pair {
  std::unique_ptr<Backend> cpu = make_cpu_backend(), ref = make_reference_backend();
};

TEST(CpuBackendParity, LinearOfEveryRowCountAndOddShapes) {
  Pair p;
  for (WeightFormat f : {WeightFormat::kF32, WeightFormat::kBF16, WeightFormat::kInt8Channel})
    for (int64_t n : {1, 3, 17})
      for (auto [out, in] : {std::pair<int64_t, int64_t>{29, 37}, {64, 128}, {7, 5}}) {
        const LinearWeight w = make_weight({.format = f, .out = out, .in = in, .seed = 3});
        const std::vector<float> x = random_input(n, in, 21);
        const Buffer xc = from_host(*p.cpu, x), xr = from_host(*p.ref, x);
        const Buffer yc = p.cpu->alloc({n, out}), yr = p.ref->alloc({n, out});
        p.cpu->linear(w, xc.f32(), n, yc.f32());
        p.ref->linear(w, xr.f32(), n, yr.f32());
        expect_close(
            to_host(*p.cpu, yc), to_host(*p.ref, yr), 1e-4f,
            "linear n=" + std::to_string(n) + " " + std::to_string(out) + "x" + std::to_string(in));
      }
}

TEST(CpuBackendParity, LinearGroupIsOneProductPerWeight) {
  Pair p;
  const int64_t n = 5, in = 19, out = 11, groups = 7;
  std::vector<LinearWeight> ws;
  for (uint32_t g = 0; g < groups; ++g)
    ws.push_back(make_weight({.format = WeightFormat::kBF16, .out = out, .in = in, .seed = g + 1}));
  const std::vector<float> x = random_input(groups * n, in, 23);
  const Buffer xc = from_host(*p.cpu, x), xr = from_host(*p.ref, x);
  const Buffer yc = p.cpu->alloc({groups, n, out}), yr = p.ref->alloc({groups, n, out});
  p.cpu->linear_group(ws, xc.f32(), n, yc.f32());
  p.ref->linear_group(ws, xr.f32(), n, yr.f32());
  const auto got = to_host(*p.cpu, yc), want = to_host(*p.ref, yr);
  expect_close(got, want, 1e-4f, "linear_group");
  // Group 4 alone through the reference equals its slice of the group.
  const Buffer y4 = p.ref->alloc({n, out});
  p.ref->linear(ws[4], xr.f32() + 4 * n * in, n, y4.f32());
  const auto one = to_host(*p.ref, y4);
  EXPECT_TRUE(std::equal(one.begin(), one.end(), want.begin() + 4 * n * out));
}

// A paged cache of random entries over scattered blocks; every position of two prompts
// (lengths 1 and 23) is a query token.
struct PagedFixture {
  int32_t block = 4, entry;
  std::vector<std::vector<int32_t>> tables = {{3}, {7, 0, 5, 1, 6, 2}};
  std::vector<int32_t> pos, seq;
  std::vector<float> data;
  explicit PagedFixture(int32_t entry_dim) : entry(entry_dim), data(8 * 4 * entry_dim) {
    for (int32_t p = 0; p < 1; ++p) pos.push_back(p), seq.push_back(0);
    for (int32_t p = 0; p < 23; ++p) pos.push_back(p), seq.push_back(1);
    data = random_input(8 * block, entry, 31);
  }
  int64_t n() const { return static_cast<int64_t>(pos.size()); }
  kernels::PagedCache cache() { return {data.data(), 8, block, entry}; }
  kernels::TokenLayout tokens() const { return {pos.data(), seq.data(), &tables, n()}; }
};

TEST(CpuBackendParity, GqaAttentionOverThePagedCache) {
  Pair p;
  const kernels::MhaShape shape{6, 2, 12, 1.0f / std::sqrt(12.0f)};
  PagedFixture f(2 * shape.num_kv_heads * shape.head_dim);
  const std::vector<float> q = random_input(f.n() * shape.num_heads, shape.head_dim, 33);
  const Buffer qc = from_host(*p.cpu, q), qr = from_host(*p.ref, q);
  const Buffer oc = p.cpu->alloc({f.n(), 6, 12}), orf = p.ref->alloc({f.n(), 6, 12});
  p.cpu->attention(shape, f.tokens(), f.cache(), qc.f32(), oc.f32());
  p.ref->attention(shape, f.tokens(), f.cache(), qr.f32(), orf.f32());
  expect_close(to_host(*p.cpu, oc), to_host(*p.ref, orf), 1e-4f, "attention");
}

TEST(CpuBackendParity, AbsorbedMlaAttentionOverThePagedCache) {
  Pair p;
  const kernels::MlaShape shape{3, 20, 6, 0.2f};
  PagedFixture f(shape.kv_lora_rank + shape.rope_dim);
  const std::vector<float> ql = random_input(f.n() * 3, 20, 35),
                           qr = random_input(f.n() * 3, 6, 36);
  const Buffer qlc = from_host(*p.cpu, ql), qrc = from_host(*p.cpu, qr);
  const Buffer qlr = from_host(*p.ref, ql), qrr = from_host(*p.ref, qr);
  const Buffer oc = p.cpu->alloc({f.n(), 3, 20}), orf = p.ref->alloc({f.n(), 3, 20});
  p.cpu->mla_attention(shape, f.tokens(), f.cache(), qlc.f32(), qrc.f32(), oc.f32());
  p.ref->mla_attention(shape, f.tokens(), f.cache(), qlr.f32(), qrr.f32(), orf.f32());
  expect_close(to_host(*p.cpu, oc), to_host(*p.ref, orf), 1e-4f, "mla_attention");
}

}  // namespace
}  // namespace fathom::runtime
