#include "quant/window_forward.h"

#include "kv/block_pool.h"
#include "runtime/kv_storage.h"

namespace fathom::quant {

namespace {
constexpr int32_t kBlockSize = 16;
}

std::vector<std::span<const int32_t>> split_windows(std::span<const int32_t> tokens, int64_t ctx,
                                                    int64_t max_windows) {
  std::vector<std::span<const int32_t>> out;
  if (ctx <= 0) return out;
  for (size_t start = 0; start + static_cast<size_t>(ctx) <= tokens.size();
       start += static_cast<size_t>(ctx)) {
    if (max_windows > 0 && static_cast<int64_t>(out.size()) >= max_windows) break;
    out.push_back(tokens.subspan(start, static_cast<size_t>(ctx)));
  }
  return out;
}

Status forward_window(model::Model& m, std::span<const int32_t> window, int64_t first_output,
                      std::vector<float>& logits) {
  const int64_t n = static_cast<int64_t>(window.size());
  if (n == 0 || first_output < 0 || first_output >= n)
    return invalid_argument("forward_window: empty window or first output out of range");
  const int32_t num_blocks = kv::blocks_for_tokens(n, kBlockSize);
  FATHOM_ASSIGN_OR_RETURN(auto kv,
                          runtime::KvStorage::allocate(m.kv_layout(), num_blocks, kBlockSize));
  model::ForwardBatch b;
  b.token_ids.assign(window.begin(), window.end());
  b.block_tables.emplace_back();
  for (int32_t i = 0; i < num_blocks; ++i) b.block_tables[0].push_back(i);
  for (int32_t i = 0; i < static_cast<int32_t>(n); ++i) {
    b.positions.push_back(i);
    b.seq_idx.push_back(0);
    if (i >= first_output) b.output_rows.push_back(i);
  }
  return m.forward(b, kv, logits);
}

}  // namespace fathom::quant
