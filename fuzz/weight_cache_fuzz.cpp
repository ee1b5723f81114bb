// libFuzzer target for the weight cache reader (model/weight_cache_format.h): the input is a
// cache file's image. Nothing may crash or read outside the image, and every weight accepted
// must hold together: each of its buffers inside the image (all of it is read here, so that
// AddressSanitizer sees an overrun), group_idx below num_groups and input_perm in range.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "model/weight_cache_format.h"

namespace {

volatile uint8_t sink;

void touch(const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  uint8_t x = 0;
  for (size_t i = 0; i < n; ++i) x ^= b[i];
  sink = x;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fathom;
  using kernels::WeightFormat;
  // An exactly sized heap buffer, so that AddressSanitizer sees a read past the image.
  const std::vector<uint8_t> image(data, data + size);
  auto h = model::parse_weight_cache_header(image.data(), image.size());
  if (!h.ok()) return 0;
  auto ws = model::parse_weight_cache_index(image.data(), image.size(), *h);
  if (!ws.ok()) return 0;
  for (const kernels::LinearWeight& w : *ws) {
    const auto out = static_cast<size_t>(w.out_features), in = static_cast<size_t>(w.in_features);
    switch (w.format) {
      case WeightFormat::kF32:
        touch(w.values, out * in * 4);
        break;
      case WeightFormat::kBF16:
      case WeightFormat::kF16:
        touch(w.values, out * in * 2);
        break;
      case WeightFormat::kFp8Block:
        touch(w.values, out * in);
        touch(w.block_scale_inv,
              ((out + w.block_out - 1) / w.block_out) * ((in + w.block_in - 1) / w.block_in) * 4);
        break;
      case WeightFormat::kInt4Grouped: {
        const size_t g = out * static_cast<size_t>(w.num_groups);
        touch(w.q4, out * ((in + 1) / 2));
        touch(w.group_scale, g * 4);
        touch(w.group_zero, g);
        if (w.group_idx)
          for (size_t i = 0; i < in; ++i)
            if (w.group_idx[i] < 0 || w.group_idx[i] >= w.num_groups) __builtin_trap();
        if (!w.group_idx && (in + w.group_size - 1) / w.group_size > size_t(w.num_groups))
          __builtin_trap();
        if (w.input_perm)
          for (size_t i = 0; i < in; ++i)
            if (w.input_perm[i] < 0 || size_t(w.input_perm[i]) >= in) __builtin_trap();
        break;
      }
      case WeightFormat::kInt8Channel:
        touch(w.q8, out * in);
        touch(w.channel_scale, out * 4);
        break;
      case WeightFormat::kGgml:
        __builtin_trap();  // never stored
    }
  }
  return 0;
}
