#include "model/weight_copies.h"

#include <new>
#include <utility>
#include <vector>

#include "base/logging.h"
#include "kernels/bf16_packed.h"
#include "kernels/bf16_panel.h"
#include "kernels/cpu/linear_bf16_avx512.h"
#include "kernels/cpu/linear_cpu_internal.h"
#include "kernels/int4_panel.h"

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

// Fills the slots weight by weight (make(w) is the copy), so the kernels speed up as it goes;
// false once `stop` is set or memory runs out. `what`: "bf16 weights packed for decode".
template <class T, class Make>
bool fill(const Copies<T>& copies, const std::atomic<bool>& stop, const char* what, Make make) {
  for (const auto& [w, slot] : copies.todo) {
    if (stop.load(std::memory_order_relaxed)) return false;
    try {
      slot->set(make(*w));
    } catch (const std::bad_alloc&) {
      FATHOM_LOG(kWarning) << what << " stopped: out of memory";
      return false;
    }
  }
  if (!copies.todo.empty())
    FATHOM_LOG(kInfo) << what << " (" << copies.todo.size() << " weights, " << (copies.bytes >> 20)
                      << " MiB)";
  return true;
}

// Whether copies of `bytes` fit in half of what is available; logs why not.
bool room(uint64_t bytes, uint64_t available_bytes, const char* what) {
  if (bytes == 0 || available_bytes == 0 || bytes <= available_bytes / 2) return true;
  FATHOM_LOG(kInfo) << what << ": " << (bytes >> 20) << " MiB against " << (available_bytes >> 20)
                    << " MiB available";
  return false;
}

}  // namespace

LoadJob bf16_packing_job(Model& model, const LoadOptions& opts, uint64_t available_bytes) {
  namespace cpu = kernels::cpu;
  const cpu::Isa isa = cpu::float_isa(cpu::best_isa());
  if (opts.pack_bf16 == LoadOptions::When::kOff || opts.reference_kernels ||
      !cpu::reads_bf16_packed(isa))
    return nullptr;
  // The panel copies are for the vdpbf16ps kernels of AVX-512 BF16.
  const bool bf16_dot = isa == cpu::Isa::kAvx512 && cpu::avx512_bf16_available();
  const bool panels = bf16_dot && opts.activations == kernels::ActivationPrecision::kReduced;
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
  if (!room(packed_bytes, available_bytes, "bf16 weights not packed for decode")) {
    packable.clear();
    packed_bytes = 0;
  }
  if (!room(packed_bytes + panel_bytes, available_bytes,
            "bf16 weights not interleaved for batches"))
    panelable.clear();
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
    const auto values = [](const LinearWeight& w) {
      return static_cast<const uint16_t*>(w.values);
    };
    if (fill(packed, stop, "bf16 weights packed for decode", [&](const LinearWeight& w) {
          return kernels::pack_bf16(values(w), w.out_features, w.in_features);
        }))
      fill(panel, stop, "bf16 weights interleaved for batches", [&](const LinearWeight& w) {
        return kernels::pack_bf16_panel(values(w), w.out_features, w.in_features);
      });
  };
}

LoadJob int4_panel_job(Model& model, const LoadOptions& opts, uint64_t available_bytes) {
  if (opts.int4_panels == LoadOptions::When::kOff || opts.reference_kernels ||
      opts.activations != kernels::ActivationPrecision::kReduced ||
      kernels::cpu::best_isa() != kernels::cpu::Isa::kAvx512Vnni)
    return nullptr;
  Copies<kernels::Int4Panel> panels;
  std::vector<LinearWeight*> todo;
  model.for_each_linear([&](LinearWeight& w) {
    if (!kernels::int4_panel_applies(w) || w.int4_panel) return;
    todo.push_back(&w);
    panels.bytes += static_cast<uint64_t>(kernels::int4_panel_bytes(w));
  });
  if (todo.empty() || !room(panels.bytes, available_bytes, "int4 weights not interleaved"))
    return nullptr;
  for (LinearWeight* w : todo) {
    w->int4_panel = std::make_shared<kernels::Int4PanelSlot>();
    panels.todo.emplace_back(w, w->int4_panel);
  }
  return [panels = std::move(panels)](const std::atomic<bool>& stop) {
    fill(panels, stop, "int4 weights interleaved for the VNNI kernel", kernels::pack_int4_panel);
  };
}

}  // namespace fathom::model
