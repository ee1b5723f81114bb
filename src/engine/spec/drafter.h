// A drafter proposes the next tokens of decoding sequences; the engine verifies them with the
// target model in the next step (spec/verify.h). Called on the engine thread after every step.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/sequence.h"
#include "engine/spec/spec_config.h"
#include "kv/kv_cache_manager.h"
#include "model/model.h"

namespace fathom::engine::spec {

/// A sequence of the step just run: its tokens at positions [first_pos, seq->num_computed) are
/// in the cache now, computed by batch rows [first_row, first_row + seq->num_computed - first_pos).
struct StepSeq {
  Sequence* seq = nullptr;
  int64_t first_pos = 0;
  int64_t first_row = 0;
};

/// What the step produced: every live sequence it ran, and the target's final-normed hidden
/// states of its rows ([num_tokens, hidden], filled only when the drafter asks for them).
struct StepRecord {
  std::vector<StepSeq> seqs;
  const std::vector<float>* hidden = nullptr;
};

/// A decoding sequence to draft for, and at most how many tokens.
struct DraftTarget {
  Sequence* seq = nullptr;
  int32_t max_tokens = 0;
};

class Drafter {
 public:
  virtual ~Drafter() = default;
  /// True when the step's forward must keep the hidden states (ForwardBatch::want_hidden).
  virtual bool needs_hidden_states() const { return false; }
  /// Sets target.seq->draft (up to max_tokens tokens, possibly none) for every target.
  virtual void propose(const StepRecord& step, const std::vector<DraftTarget>& targets) = 0;
};

/// The drafter for cfg.method (not kOff). kMtp needs a model with an MTP module loaded
/// (LoadOptions::load_mtp); its draft cache mirrors the target's blocks.
Result<std::unique_ptr<Drafter>> make_drafter(const SpecConfig& cfg, model::Model& model,
                                              kv::KvCacheManager& kv);

}  // namespace fathom::engine::spec
