// The prompt-lookup drafter over each sequence's prompt + generated tokens.
#pragma once

#include "engine/spec/drafter.h"

namespace fathom::engine::spec {

class NgramDrafter final : public Drafter {
 public:
  explicit NgramDrafter(const SpecConfig& cfg) : cfg_(cfg) {}
  void propose(const StepRecord& step, const std::vector<DraftTarget>& targets) override;

 private:
  SpecConfig cfg_;
};

}  // namespace fathom::engine::spec
