#include "kernels/bf16_packed.h"

#include <algorithm>
#include <cstring>

#include "kernels/huge_page_buffer.h"

namespace fathom::kernels {
namespace {

uint8_t exponent(uint16_t v) { return static_cast<uint8_t>(v >> 7); }

}  // namespace

int bf16_pack_lane(int p) {
  const int half = p / 32, q = p % 32;
  return (q / 8) * 16 + half * 8 + q % 8;
}

int64_t Bf16Packed::size_bytes() const {
  return out_features * blocks_per_row() * (kBf16PackSlotBytes + 1) +
         static_cast<int64_t>(escape_begin.size() * 4 + escape_block.size() * 4 +
                              escape_values.size() * 2);
}

bool bf16_packable(int64_t out_features, int64_t in_features) {
  return out_features > 0 && in_features > 0 && in_features % kBf16PackBlock == 0;
}

std::unique_ptr<Bf16Packed> pack_bf16(const uint16_t* values, int64_t out, int64_t in) {
  auto p = std::make_unique<Bf16Packed>();
  p->out_features = out;
  p->in_features = in;
  const int64_t blocks = p->blocks_per_row();
  p->storage = huge_page_buffer(static_cast<size_t>(out * blocks * kBf16PackSlotBytes));
  auto* slots = static_cast<uint8_t*>(p->storage.get());
  p->slots = slots;
  p->bias.resize(static_cast<size_t>(out * blocks));
  p->escape_begin.reserve(static_cast<size_t>(out + 1));
  for (int64_t r = 0; r < out; ++r) {
    p->escape_begin.push_back(static_cast<uint32_t>(p->escape_block.size()));
    for (int64_t b = 0; b < blocks; ++b) {
      const uint16_t* v = values + r * in + b * kBf16PackBlock;
      uint8_t* slot = slots + (r * blocks + b) * kBf16PackSlotBytes;
      int top = 0;
      for (int i = 0; i < kBf16PackBlock; ++i) top = std::max<int>(top, exponent(v[i]));
      bool escape = false;
      for (int i = 0; i < kBf16PackBlock; ++i)
        escape |= exponent(v[i]) != 0 && exponent(v[i]) + 15 <= top;
      if (escape) {
        std::memset(slot, 0, kBf16PackSlotBytes);
        p->escape_block.push_back(static_cast<uint32_t>(b));
        for (int q = 0; q < kBf16PackBlock; ++q) p->escape_values.push_back(v[bf16_pack_lane(q)]);
        continue;
      }
      p->bias[static_cast<size_t>(r * blocks + b)] = static_cast<uint8_t>(top - 15);
      uint8_t codes[kBf16PackBlock];
      for (int i = 0; i < kBf16PackBlock; ++i) {
        const int e = exponent(v[i]);
        codes[i] = static_cast<uint8_t>(e == 0 ? 0 : e - top + 15);
        slot[i] = static_cast<uint8_t>(((v[i] >> 8) & 0x80) | (v[i] & 0x7f));
      }
      for (int i = 0; i < 32; ++i)
        slot[kBf16PackBlock + i] = static_cast<uint8_t>(codes[i] | codes[32 + i] << 4);
    }
  }
  p->escape_begin.push_back(static_cast<uint32_t>(p->escape_block.size()));
  return p;
}

void unpack_bf16_row(const Bf16Packed& p, int64_t r, uint16_t* out) {
  const int64_t blocks = p.blocks_per_row();
  uint32_t escape = p.escape_begin[static_cast<size_t>(r)];
  for (int64_t b = 0; b < blocks; ++b) {
    uint16_t* o = out + b * kBf16PackBlock;
    if (escape < p.escape_begin[static_cast<size_t>(r) + 1] && p.escape_block[escape] == b) {
      for (int q = 0; q < kBf16PackBlock; ++q)
        o[bf16_pack_lane(q)] = p.escape_values[escape * kBf16PackBlock + static_cast<uint32_t>(q)];
      ++escape;
      continue;
    }
    const uint8_t* slot = p.slots + (r * blocks + b) * kBf16PackSlotBytes;
    const uint8_t bias = p.bias[static_cast<size_t>(r * blocks + b)];
    for (int i = 0; i < kBf16PackBlock; ++i) {
      const uint8_t byte = slot[kBf16PackBlock + i % 32];
      const int code = i < 32 ? byte & 0xf : byte >> 4;
      const uint16_t e = code == 0 ? 0 : static_cast<uint8_t>(bias + code);
      o[i] = static_cast<uint16_t>((slot[i] & 0x80) << 8 | e << 7 | (slot[i] & 0x7f));
    }
  }
}

}  // namespace fathom::kernels
