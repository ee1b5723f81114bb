#include "engine/spec/mtp_drafter.h"

#include <algorithm>
#include <unordered_map>

#include "base/logging.h"
#include "engine/sampler.h"

namespace fathom::engine::spec {

Result<std::unique_ptr<MtpDrafter>> MtpDrafter::create(model::Model& model,
                                                       kv::KvCacheManager& kv) {
  if (!model.has_mtp())
    return invalid_argument("--speculative mtp: the model (" + model.config().architecture +
                            ") has no multi-token-prediction module loaded");
  FATHOM_ASSIGN_OR_RETURN(
      runtime::KvStorage cache,
      runtime::KvStorage::allocate(model.mtp_kv_layout(), kv.num_blocks(), kv.block_size()));
  return std::unique_ptr<MtpDrafter>(new MtpDrafter(model, kv, std::move(cache)));
}

void MtpDrafter::propose(const StepRecord& step, const std::vector<DraftTarget>& targets) {
  if (step.seqs.empty() || step.hidden == nullptr) return;
  const int64_t d = model_.config().hidden_size;
  std::unordered_map<const Sequence*, const DraftTarget*> target_of;
  for (const DraftTarget& t : targets) target_of[t.seq] = &t;

  // 1. Catch up: every position the step put in the target's cache.
  model::ForwardBatch b;
  std::vector<float> hidden;
  std::vector<const DraftTarget*> rows_of;  // output row r drafts for this target
  for (const StepSeq& x : step.seqs) {
    const Sequence* s = x.seq;
    const auto idx = static_cast<int32_t>(b.block_tables.size());
    for (int64_t pos = x.first_pos; pos < s->num_computed; ++pos) {
      b.token_ids.push_back(s->tokens[pos + 1]);
      b.positions.push_back(static_cast<int32_t>(pos));
      b.seq_idx.push_back(idx);
      const float* h = step.hidden->data() + (x.first_row + pos - x.first_pos) * d;
      hidden.insert(hidden.end(), h, h + d);
    }
    b.block_tables.push_back(s->blocks.table);
    const auto it = target_of.find(s);
    if (it != target_of.end() && s->num_computed > x.first_pos) {
      b.output_rows.push_back(static_cast<int32_t>(b.num_tokens() - 1));
      rows_of.push_back(it->second);
    }
  }
  if (b.num_tokens() == 0) return;
  std::vector<float> logits, hidden_out;
  Status st = model_.mtp_forward(b, hidden, cache_, logits, hidden_out);
  if (!st.ok()) {
    FATHOM_LOG(kError) << "MTP draft failed: " << st.to_string();
    return;
  }
  const int64_t vocab = model_.config().vocab_size;
  for (size_t r = 0; r < rows_of.size(); ++r)
    rows_of[r]->seq->draft = {argmax(logits.data() + static_cast<int64_t>(r) * vocab, vocab)};

  // 2. Chain: one more MTP step per further draft token, on the previous step's output.
  for (int32_t k = 1;; ++k) {
    model::ForwardBatch c;
    std::vector<float> prev;
    std::vector<const DraftTarget*> chained;
    for (size_t r = 0; r < rows_of.size(); ++r) {
      const DraftTarget* t = rows_of[r];
      Sequence* s = t->seq;
      if (static_cast<int32_t>(s->draft.size()) != k || k >= t->max_tokens) continue;
      const int64_t pos = s->num_computed + k - 1;  // the position of draft k - 1's input
      if (!kv_.grow(s->blocks, pos + 1)) continue;  // no room: keep the shorter draft
      c.token_ids.push_back(s->draft.back());
      c.positions.push_back(static_cast<int32_t>(pos));
      c.seq_idx.push_back(static_cast<int32_t>(c.block_tables.size()));
      c.block_tables.push_back(s->blocks.table);
      c.output_rows.push_back(static_cast<int32_t>(chained.size()));
      const float* h = hidden_out.data() + static_cast<int64_t>(r) * d;
      prev.insert(prev.end(), h, h + d);
      chained.push_back(t);
    }
    if (chained.empty()) return;
    std::vector<float> next_hidden;
    st = model_.mtp_forward(c, prev, cache_, logits, next_hidden);
    if (!st.ok()) {
      FATHOM_LOG(kError) << "MTP draft failed: " << st.to_string();
      return;
    }
    // Keep rows_of / hidden_out aligned with the chained targets only.
    rows_of = std::move(chained);
    hidden_out = std::move(next_hidden);
    for (size_t r = 0; r < rows_of.size(); ++r)
      rows_of[r]->seq->draft.push_back(
          argmax(logits.data() + static_cast<int64_t>(r) * vocab, vocab));
  }
}

}  // namespace fathom::engine::spec
