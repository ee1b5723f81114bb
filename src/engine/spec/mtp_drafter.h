// DeepSeek-V3 multi-token prediction as the draft model. After each target step the MTP module
// catches up over the positions the step put in the cache (position i: the target's hidden
// state h(i) and the embedding of t(i+1)), which also yields the first draft, the argmax for
// the position after the last token; each further draft chains one more MTP step on its own
// output hidden state and the previous draft. Drafts are deterministic (argmax), so
// verification treats them as a point mass.
//
// The module's one-layer cache mirrors the target's paged cache block for block (same block
// ids, same tables): no bookkeeping of its own, and blocks freed with the sequence. Entries
// at chained positions are provisional and rewritten from the target's hidden states next step.
#pragma once

#include "engine/spec/drafter.h"
#include "runtime/kv_storage.h"

namespace fathom::engine::spec {

class MtpDrafter final : public Drafter {
 public:
  /// FailedPrecondition-like InvalidArgument when the model has no MTP module.
  static Result<std::unique_ptr<MtpDrafter>> create(model::Model& model, kv::KvCacheManager& kv);

  bool needs_hidden_states() const override { return true; }
  void propose(const StepRecord& step, const std::vector<DraftTarget>& targets) override;

 private:
  MtpDrafter(model::Model& model, kv::KvCacheManager& kv, runtime::KvStorage cache)
      : model_(model), kv_(kv), cache_(std::move(cache)) {}

  model::Model& model_;
  kv::KvCacheManager& kv_;
  runtime::KvStorage cache_;
};

}  // namespace fathom::engine::spec
