#include "model/bf16_packing.h"

#include <new>
#include <utility>
#include <vector>

#include "base/logging.h"
#include "kernels/bf16_packed.h"
#include "kernels/cpu/linear_bf16_avx512.h"

namespace fathom::model {

LoadJob bf16_packing_job(Model& model, const LoadOptions& opts, uint64_t available_bytes) {
  using kernels::LinearWeight;
  namespace cpu = kernels::cpu;
  if (opts.pack_bf16 == LoadOptions::When::kOff || opts.reference_kernels ||
      cpu::float_isa(cpu::best_isa()) != cpu::Isa::kAvx512 || !cpu::avx512_bf16_available())
    return nullptr;
  std::vector<LinearWeight*> weights;
  uint64_t bytes = 0;
  model.for_each_linear([&](LinearWeight& w) {
    if (w.format != kernels::WeightFormat::kBF16 || w.values == nullptr || w.bf16_packed ||
        !kernels::bf16_packable(w.out_features, w.in_features))
      return;
    weights.push_back(&w);
    bytes += static_cast<uint64_t>(w.size_bytes()) * 3 / 4;
  });
  if (weights.empty()) return nullptr;
  if (available_bytes > 0 && bytes > available_bytes / 2) {
    FATHOM_LOG(kInfo) << "bf16 weights not packed for decode: " << (bytes >> 20) << " MiB against "
                      << (available_bytes >> 20) << " MiB available";
    return nullptr;
  }
  // The slots now, while nothing reads the weights; their contents when the job runs.
  std::vector<std::pair<const LinearWeight*, std::shared_ptr<kernels::Bf16PackedSlot>>> todo;
  for (LinearWeight* w : weights) {
    w->bf16_packed = std::make_shared<kernels::Bf16PackedSlot>();
    todo.emplace_back(w, w->bf16_packed);
  }
  return [todo = std::move(todo), bytes](const std::atomic<bool>& stop) {
    for (const auto& [w, slot] : todo) {
      if (stop.load(std::memory_order_relaxed)) return;
      try {
        slot->set(kernels::pack_bf16(static_cast<const uint16_t*>(w->values), w->out_features,
                                     w->in_features));
      } catch (const std::bad_alloc&) {
        FATHOM_LOG(kWarning) << "bf16 packing stopped: out of memory";
        return;
      }
    }
    FATHOM_LOG(kInfo) << "bf16 weights packed for decode (" << todo.size() << " weights, "
                      << (bytes >> 20) << " MiB)";
  };
}

}  // namespace fathom::model
