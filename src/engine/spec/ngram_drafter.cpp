#include "engine/spec/ngram_drafter.h"

#include "engine/spec/ngram.h"

namespace fathom::engine::spec {

void NgramDrafter::propose(const StepRecord&, const std::vector<DraftTarget>& targets) {
  for (const DraftTarget& t : targets)
    t.seq->draft =
        propose_ngram(t.seq->tokens, cfg_.prompt_lookup_min, cfg_.prompt_lookup_max, t.max_tokens);
}

}  // namespace fathom::engine::spec
