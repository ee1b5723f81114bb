#include "kernels/bf16_panel.h"

#include <algorithm>

#include "kernels/huge_page_buffer.h"

namespace fathom::kernels {

int64_t bf16_panel_bytes(int64_t out_features, int64_t in_features) {
  return (out_features + kBf16PanelOut - 1) / kBf16PanelOut * kBf16PanelOut *
         ((in_features + 1) / 2) * 4;
}

int64_t Bf16Panel::size_bytes() const { return bf16_panel_bytes(out_features, in_features); }

std::unique_ptr<Bf16Panel> pack_bf16_panel(const uint16_t* values, int64_t out, int64_t in) {
  auto p = std::make_unique<Bf16Panel>();
  p->out_features = out;
  p->in_features = in;
  p->storage = huge_page_buffer(static_cast<size_t>(p->size_bytes()));
  auto* data = static_cast<uint32_t*>(p->storage.get());
  p->data = data;
  const int64_t np = p->pairs();
  constexpr int64_t kPairBlock = 64;  // 64 pairs x 48 outputs: 12 KiB written per block
  for (int64_t t = 0; t < p->tiles(); ++t) {
    uint32_t* tile = data + t * np * kBf16PanelOut;
    for (int64_t p0 = 0; p0 < np; p0 += kPairBlock) {
      const int64_t p1 = std::min(np, p0 + kPairBlock);
      for (int64_t o = 0; o < kBf16PanelOut; ++o) {
        const int64_t row = t * kBf16PanelOut + o;
        const uint16_t* w = values + row * in;
        for (int64_t q = p0; q < p1; ++q) {
          uint32_t pair = 0;
          if (row < out) {
            pair = w[2 * q];
            if (2 * q + 1 < in) pair |= uint32_t{w[2 * q + 1]} << 16;
          }
          tile[q * kBf16PanelOut + o] = pair;
        }
      }
    }
  }
  return p;
}

uint16_t bf16_panel_value(const Bf16Panel& p, int64_t o, int64_t j) {
  const uint32_t pair = p.tile(o / kBf16PanelOut)[(j / 2) * kBf16PanelOut + o % kBf16PanelOut];
  return static_cast<uint16_t>(j % 2 ? pair >> 16 : pair & 0xffff);
}

}  // namespace fathom::kernels
