// Logits of every position of a prompt in one forward pass of a model (tests).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "model/model.h"

namespace fathom::testing {

/// One sequence of `ids`, every row's logits, over a block table that is deliberately not
/// contiguous (blocks handed out in reverse), in a cache of `kv_dtype`.
inline std::vector<float> all_logits(model::Model& m, const std::vector<int32_t>& ids,
                                     int32_t block_size = 16,
                                     kernels::KvDtype kv_dtype = kernels::KvDtype::kF32) {
  const int64_t n = static_cast<int64_t>(ids.size());
  const int32_t num_blocks = static_cast<int32_t>((n + block_size - 1) / block_size);
  auto kv = runtime::KvStorage::allocate(m.kv_layout(), num_blocks, block_size, kv_dtype);
  EXPECT_TRUE(kv.ok());
  if (!kv.ok()) return {};
  model::ForwardBatch b;
  b.token_ids = ids;
  b.block_tables.emplace_back();
  for (int32_t i = num_blocks - 1; i >= 0; --i) b.block_tables[0].push_back(i);
  for (int32_t i = 0; i < n; ++i) {
    b.positions.push_back(i);
    b.seq_idx.push_back(0);
    b.output_rows.push_back(i);
  }
  std::vector<float> logits;
  Status s = m.forward(b, *kv, logits);
  EXPECT_TRUE(s.ok()) << s.to_string();
  return logits;
}

}  // namespace fathom::testing
