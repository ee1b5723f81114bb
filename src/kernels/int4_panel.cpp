#include "kernels/int4_panel.h"

#include <cstring>

#include "kernels/huge_page_buffer.h"
#include "kernels/quantize_activations.h"

namespace fathom::kernels {
namespace {

struct Shape {
  int64_t words, groups, tiles;
};

Shape shape_of(const LinearWeight& w) {
  const int64_t tiles = (w.out_features + kInt4PanelOut - 1) / kInt4PanelOut;
  return {activation_blocks(w).span / 8, w.num_groups,
          (tiles + kInt4PanelTileGroup - 1) / kInt4PanelTileGroup * kInt4PanelTileGroup};
}

int64_t bytes_of(const Shape& s) {
  return s.tiles * kInt4PanelOut * (s.words * 4 + s.groups * 2 * int64_t{sizeof(float)});
}

}  // namespace

bool int4_panel_applies(const LinearWeight& w) {
  return w.format == WeightFormat::kInt4Grouped && w.q4 != nullptr && int_dot_applies(w) &&
         w.input_perm == nullptr && w.out_features > 0 && w.in_features > 0;
}

int64_t int4_panel_bytes(const LinearWeight& w) { return bytes_of(shape_of(w)); }

int64_t Int4Panel::size_bytes() const { return bytes_of({words, groups, tiles}); }

std::unique_ptr<Int4Panel> pack_int4_panel(const LinearWeight& w) {
  auto p = std::make_unique<Int4Panel>();
  const Shape s = shape_of(w);
  p->out_features = w.out_features;
  p->in_features = w.in_features;
  p->words = s.words;
  p->groups = s.groups;
  p->tiles = s.tiles;
  p->storage = huge_page_buffer(static_cast<size_t>(bytes_of(s)));
  auto* q = static_cast<uint32_t*>(p->storage.get());
  const int64_t q_words = s.tiles * s.words * kInt4PanelOut;
  auto* scale = reinterpret_cast<float*>(q + q_words);
  float* zero = scale + s.tiles * s.groups * kInt4PanelOut;
  p->q = q;
  p->scale = scale;
  p->zero = zero;
  const int64_t row_bytes = (w.in_features + 1) / 2;
  for (int64_t t = 0; t < s.tiles; ++t)
    for (int64_t o = 0; o < kInt4PanelOut; ++o) {
      const int64_t row = t * kInt4PanelOut + o;
      const bool real = row < w.out_features;
      uint32_t* dst = const_cast<uint32_t*>(p->word(t, 0)) + o;
      for (int64_t k = 0; k < s.words; ++k) {
        uint32_t word = 0;
        if (real) std::memcpy(&word, w.q4 + row * row_bytes + 4 * k, 4);
        dst[k * kInt4PanelWordStride] = word;
      }
      for (int64_t g = 0; g < s.groups; ++g) {
        const int64_t at = (t * s.groups + g) * kInt4PanelOut + o;
        scale[at] = real ? w.group_scale[row * w.num_groups + g] : 0.0f;
        zero[at] = real ? static_cast<float>(w.group_zero[row * w.num_groups + g]) : 0.0f;
      }
    }
  return p;
}

int int4_panel_code(const Int4Panel& p, int64_t o, int64_t j) {
  const uint32_t word = p.word(o / kInt4PanelOut, j / 8)[o % kInt4PanelOut];
  const int64_t byte = (j % 8) / 2;
  return static_cast<int>((word >> (8 * byte + 4 * (j % 2))) & 0xf);
}

}  // namespace fathom::kernels
