#include "model/bf16_packing.h"

#include <new>
#include <utility>
#include <vector>

#include "base/logging.h"
#include "kernels/bf16_packed.h"
#include "kernels/bf16_panel.h"
#include "kernels/cpu/linear_bf16_avx512.h"

namespace fathom::model {
namespace {

using kernels::LinearWeight;

// One kind of copy: the weights that get one, their slots (made before the model runs, filled
// by the job) and the bytes the copies take.
template <class T>
struct Copies {
  std::vector<std::pair<const LinearWeight*, std::shared_ptr<kernels::ReadySlot<T>>>> todo;
  uint64_t bytes = 0;
};

// Fills the slots weight by weight, so the kernels speed up as it goes; false once `stop` is
// set or memory runs out.
template <class T, class Make>
bool fill(const Copies<T>& copies, const std::atomic<bool>& stop, const char* what, Make make) {
  for (const auto& [w, slot] : copies.todo) {
    if (stop.load(std::memory_order_relaxed)) return false;
    try {
      slot->set(make(static_cast<const uint16_t*>(w->values), w->out_features, w->in_features));
    } catch (const std::bad_alloc&) {
      FATHOM_LOG(kWarning) << "bf16 " << what << " stopped: out of memory";
      return false;
    }
  }
  if (!copies.todo.empty())
    FATHOM_LOG(kInfo) << "bf16 weights " << what << " (" << copies.todo.size() << " weights, "
                      << (copies.bytes >> 20) << " MiB)";
  return true;
}

}  // namespace

LoadJob bf16_packing_job(Model& model, const LoadOptions& opts, uint64_t available_bytes) {
  namespace cpu = kernels::cpu;
  if (opts.pack_bf16 == LoadOptions::When::kOff || opts.reference_kernels ||
      cpu::float_isa(cpu::best_isa()) != cpu::Isa::kAvx512 || !cpu::avx512_bf16_available())
    return nullptr;
  const bool panels = opts.activations == kernels::ActivationPrecision::kReduced;
  std::vector<LinearWeight*> packable, panelable;
  uint64_t packed_bytes = 0, panel_bytes = 0;
  model.for_each_linear([&](LinearWeight& w) {
    if (w.format != kernels::WeightFormat::kBF16 || w.values == nullptr || w.bf16_packed ||
        w.bf16_panel || w.out_features <= 0 || w.in_features <= 0)
      return;
    if (kernels::bf16_packable(w.out_features, w.in_features)) {
      packable.push_back(&w);
      packed_bytes += static_cast<uint64_t>(w.size_bytes()) * 3 / 4;
    }
    if (panels) {
      panelable.push_back(&w);
      panel_bytes +=
          static_cast<uint64_t>(kernels::bf16_panel_bytes(w.out_features, w.in_features));
    }
  });
  // Each kind only where it fits in half of what is available, the decode copy first.
  auto room = [&](uint64_t bytes, const char* what) {
    if (bytes == 0 || available_bytes == 0 || bytes <= available_bytes / 2) return true;
    FATHOM_LOG(kInfo) << "bf16 weights not " << what << ": " << (bytes >> 20) << " MiB against "
                      << (available_bytes >> 20) << " MiB available";
    return false;
  };
  if (!room(packed_bytes, "packed for decode")) {
    packable.clear();
    packed_bytes = 0;
  }
  if (!room(packed_bytes + panel_bytes, "interleaved for batches")) panelable.clear();
  if (packable.empty() && panelable.empty()) return nullptr;
  // The slots now, while nothing reads the weights; their contents when the job runs.
  Copies<kernels::Bf16Packed> packed{{}, packed_bytes};
  for (LinearWeight* w : packable) {
    w->bf16_packed = std::make_shared<kernels::Bf16PackedSlot>();
    packed.todo.emplace_back(w, w->bf16_packed);
  }
  Copies<kernels::Bf16Panel> panel{{}, panel_bytes};
  for (LinearWeight* w : panelable) {
    w->bf16_panel = std::make_shared<kernels::Bf16PanelSlot>();
    panel.todo.emplace_back(w, w->bf16_panel);
  }
  return [packed = std::move(packed), panel = std::move(panel)](const std::atomic<bool>& stop) {
    if (fill(packed, stop, "packed for decode", kernels::pack_bf16))
      fill(panel, stop, "interleaved for batches", kernels::pack_bf16_panel);
  };
}

}  // namespace fathom::model
