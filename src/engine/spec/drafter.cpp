#include "engine/spec/drafter.h"

#include "engine/spec/mtp_drafter.h"
#include "engine/spec/ngram_drafter.h"

namespace fathom::engine::spec {

Result<std::unique_ptr<Drafter>> make_drafter(const SpecConfig& cfg, model::Model& model,
                                              kv::KvCacheManager& kv) {
  switch (cfg.method) {
    case SpecMethod::kNgram:
      return std::unique_ptr<Drafter>(std::make_unique<NgramDrafter>(cfg));
    case SpecMethod::kMtp: {
      FATHOM_ASSIGN_OR_RETURN(auto d, MtpDrafter::create(model, kv));
      return std::unique_ptr<Drafter>(std::move(d));
    }
    case SpecMethod::kOff:
      break;
  }
  return invalid_argument("speculative decoding is off: no drafter");
}

}  // namespace fathom::engine::spec
