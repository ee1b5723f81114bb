// Architecture registry: an explicit table, greppable, no self-registering statics.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/logging.h"
#include "formats/checkpoint.h"
#include "model/arch/deepseek.h"
#include "model/arch/dense.h"
#include "model/gguf_loader.h"
#include "model/model.h"
#include "model/weight_cache.h"
#include "model/weight_copies.h"

namespace fathom::model {
namespace {

using MakeFn = Result<std::unique_ptr<Model>> (*)(ModelConfig, const formats::Checkpoint&,
                                                  LoadOptions);
struct ArchRow {
  const char* architecture;
  MakeFn make;
};

constexpr ArchRow kRegistry[] = {
    {"LlamaForCausalLM", &make_dense},
    {"Qwen2ForCausalLM", &make_dense},
    {"DeepseekV2ForCausalLM", &make_deepseek},
    {"DeepseekV3ForCausalLM", &make_deepseek},
};

/// The weight cache applies when the load produces weights in owned memory: quantizing a float
/// checkpoint, or repacking GPTQ / AWQ / packed compressed-tensors ones.
bool produces_weights(const ModelConfig& cfg, const LoadOptions& opts) {
  const QuantMethod m = cfg.quant.method;
  return requantize_target(cfg, opts.quantization).has_value() || m == QuantMethod::kGptq ||
         m == QuantMethod::kAwq || m == QuantMethod::kCompressedTensors;
}

WeightCacheOptions cache_options(const ModelConfig& cfg, const LoadOptions& opts) {
  WeightCacheOptions o;
  const bool requantize = requantize_target(cfg, opts.quantization).has_value();
  o.enabled = opts.weight_cache && produces_weights(cfg, opts);
  o.variant = requantize ? quantization_name(opts.quantization) : "repack";
  o.fallback_dir = opts.weight_cache_dir;
  return o;
}

// The value after `key` in a "key value" file such as /proc/meminfo; 0 when absent.
uint64_t keyed_value(const char* path, const std::string& key) {
  std::ifstream in(path);
  for (std::string k; in >> k;) {
    uint64_t v = 0;
    if (k == key && in >> v) return v;
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0;
}

// Memory the kernel can hand out without swapping or dropping what it cannot reread, in bytes:
// /proc/meminfo's MemAvailable, and within a cgroup v2 limit (a container) that limit less the
// group's anonymous memory; 0 when unknown.
uint64_t memory_available_bytes() {
  uint64_t available = keyed_value("/proc/meminfo", "MemAvailable:") * 1024;
  std::ifstream max_file("/sys/fs/cgroup/memory.max");
  uint64_t limit = 0;
  if (max_file >> limit && limit > 0) {  // "max" (no limit) fails the read
    const uint64_t anon = keyed_value("/sys/fs/cgroup/memory.stat", "anon");
    const uint64_t room = limit > anon ? limit - anon : 1;
    available = available > 0 ? std::min(available, room) : room;
  }
  return available;
}

// LoadOptions::huge_pages for the files the weights are read from in place: the checkpoint's
// (null when the load quantized or repacked them) and a weight cache hit's. Empty when there
// is nothing to copy; `available` less what the copy takes.
LoadJob huge_page_job(const LoadOptions& opts, std::shared_ptr<const formats::Checkpoint> in_place,
                      uint64_t& available) {
  std::shared_ptr<const formats::MappedFile> cache =
      opts.weight_cache_session ? opts.weight_cache_session->mapped_file() : nullptr;
  if (opts.huge_pages == LoadOptions::When::kOff || (!in_place && !cache)) return nullptr;
  // The copy is memory the kernel cannot drop under pressure, where file pages it can: on a
  // box the weights nearly fill (an edge device), keep the file mapping.
  uint64_t bytes = cache ? cache->size() : 0;
  if (in_place)
    for (const formats::MappedFile* f : in_place->mapped_files()) bytes += f->size();
  if (available > 0 && bytes > available / 2) {
    FATHOM_LOG(kInfo) << "weights stay in their file mapping: " << bytes / (1 << 20)
                      << " MiB to copy into huge pages against " << available / (1 << 20)
                      << " MiB available";
    return nullptr;
  }
  if (available > 0) available -= bytes;
  return [in_place, cache](const std::atomic<bool>& stop) {
    Status s = in_place ? in_place->copy_to_huge_pages(&stop) : Status();
    if (s.ok() && cache) s = cache->copy_to_huge_pages(&stop);
    // An optimisation only: whatever was not copied stays mapped from its file.
    if (!s.ok())
      FATHOM_LOG(kWarning) << "weights stay in 4 KiB pages: " << s.message();
    else if (!stop.load(std::memory_order_relaxed))
      FATHOM_LOG(kInfo) << "weights read in place now in huge pages ("
                        << (!cache     ? "checkpoint"
                            : in_place ? "checkpoint, weight cache"
                                       : "weight cache")
                        << ")";
  };
}

// The weights' huge-page copy, then their bf16 packing, then their int4 panels
// (LoadOptions::huge_pages, pack_bf16, int4_panels): each now (kAtLoad) or on the model's
// background thread (kBackground).
void start_load_jobs(Model& model, const LoadOptions& opts,
                     std::shared_ptr<const formats::Checkpoint> in_place) {
  uint64_t available = memory_available_bytes();
  const LoadJob copy = huge_page_job(opts, std::move(in_place), available);
  const LoadJob pack = bf16_packing_job(model, opts, available);
  const LoadJob int4 = int4_panel_job(model, opts, available);
  std::vector<LoadJob> later;
  const std::atomic<bool> never{false};
  for (const auto& [job, when] : {std::pair{copy, opts.huge_pages}, std::pair{pack, opts.pack_bf16},
                                  std::pair{int4, opts.int4_panels}}) {
    if (!job) continue;
    if (when == LoadOptions::When::kAtLoad)
      job(never);
    else
      later.push_back(job);
  }
  if (!later.empty())
    model.run_in_background([later = std::move(later)](const std::atomic<bool>& stop) {
      for (const LoadJob& job : later) job(stop);
    });
}

std::string seconds_since(const Clock& clock, Clock::TimePoint t0) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", static_cast<double>((clock.now() - t0).count()) * 1e-9);
  return buf;
}

}  // namespace

Result<std::unique_ptr<Model>> load_model(const std::string& model_dir, LoadOptions opts) {
  static const SteadyClock clock;
  const auto t0 = clock.now();
  ModelConfig cfg;
  std::shared_ptr<const formats::Checkpoint> ck;
  if (is_gguf_model(model_dir)) {  // one GGUF file: config, weights (and tokenizer) inside
    FATHOM_ASSIGN_OR_RETURN(GgufModel g, open_gguf_model(model_dir));
    cfg = std::move(g.config);
    ck = std::move(g.checkpoint);
  } else {
    FATHOM_ASSIGN_OR_RETURN(cfg, load_model_config(model_dir));
  }
  FATHOM_RETURN_IF_ERROR(check_quantization(cfg, opts.quantization));
  if (!ck) {
    FATHOM_ASSIGN_OR_RETURN(formats::Checkpoint opened, formats::Checkpoint::open(model_dir));
    ck = std::make_shared<const formats::Checkpoint>(std::move(opened));
  }
  if (opts.prefault) FATHOM_RETURN_IF_ERROR(ck->prefault());
  const std::string read_time = seconds_since(clock, t0);
  // Only a load that quantizes or repacks needs a session (and the thread pool it hashes on).
  if (produces_weights(cfg, opts))
    opts.weight_cache_session = std::make_shared<WeightCacheSession>(
        model_dir, *ck, cache_options(cfg, opts), clock, default_thread_pool());
  for (const auto& row : kRegistry) {
    if (cfg.architecture != row.architecture) continue;
    auto model = row.make(std::move(cfg), *ck, opts);
    if (!model.ok()) return model;
    (*model)->keep_alive(ck);  // weights point into the checkpoint's mapped files
    start_load_jobs(**model, opts, produces_weights((*model)->config(), opts) ? nullptr : ck);
    const std::string cache_note = opts.weight_cache_session ? opts.weight_cache_session->finish()
                                                             : "nothing quantized or repacked";
    FATHOM_LOG(kInfo) << "loaded " << (*model)->config().architecture << " from " << model_dir
                      << " (" << ck->num_tensors() << " tensors, " << (*model)->config().num_layers
                      << " layers"
                      << (requantize_target((*model)->config(), opts.quantization)
                              ? std::string(", quantized to ") +
                                    quantization_name(opts.quantization)
                              : std::string())
                      << ") in " << seconds_since(clock, t0) << ": read"
                      << (opts.prefault ? " and prefault " : " ") << read_time << "; "
                      << cache_note;
    return model;
  }
  return invalid_argument(model_dir + "/config.json: architecture '" + cfg.architecture +
                          "' has no implementation");
}

}  // namespace fathom::model
