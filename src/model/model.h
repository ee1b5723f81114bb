// The model interface the engine drives: a flat batch of tokens from many sequences over a
// paged KV cache in, logits for the requested rows out. Model code never sees a device type.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "base/thread_pool.h"
#include "kernels/linear.h"
#include "kernels/linear_weight.h"
#include "kernels/ops.h"
#include "kernels/quantize_weight.h"
#include "model/config.h"
#include "model/lora/lora_adapter.h"
#include "runtime/backend.h"
#include "runtime/kv_storage.h"

namespace fathom::model {

/// One engine step's input. Token i belongs to sequence seq_idx[i] at position positions[i];
/// a sequence's tokens attend to positions 0..p of that sequence, read from the paged cache
/// through its block table (its earlier tokens must already be in the cache).
struct ForwardBatch {
  std::vector<int32_t> token_ids;                  ///< [num_tokens]
  std::vector<int32_t> positions;                  ///< [num_tokens]
  std::vector<int32_t> seq_idx;                    ///< [num_tokens]
  std::vector<std::vector<int32_t>> block_tables;  ///< [num_seqs][num_blocks_of_seq]
  std::vector<int32_t> output_rows;                ///< token rows whose logits are wanted
  /// Keep the final-normed hidden states of every row (Model::last_hidden): the input of a
  /// DeepSeek MTP draft module.
  bool want_hidden = false;
  /// [num_seqs] the LoRA adapter of each sequence (null: the base model), or empty when no
  /// sequence uses one. Adapters must be loaded against this model's lora_targets().
  std::vector<const lora::LoraAdapter*> seq_lora;

  int64_t num_tokens() const { return static_cast<int64_t>(token_ids.size()); }
};

/// The parts of a forward pass that the step profile times (fathom bench model, serve --profile).
enum class Op : uint8_t {
  kEmbed,       ///< embedding rows gathered and dequantized
  kNorm,        ///< RMSNorm
  kLinear,      ///< projections (attention and MLP, experts, router)
  kRope,        ///< rotary embedding
  kKvWrite,     ///< this step's keys and values written into the paged cache
  kAttention,   ///< attention over the cache (and MLA's absorbed up-projections)
  kActivation,  ///< SwiGLU and residual adds
  kMoeRouting,  ///< expert selection, token gather and weighted scatter
  kLmHead,      ///< final norm and the vocabulary projection of the rows that need logits
  kOther,       ///< the rest of forward (validation, buffers)
};
inline constexpr int kNumOps = static_cast<int>(Op::kOther) + 1;
const char* op_name(Op op);

struct OpStats {
  int64_t ns = 0;
  int64_t calls = 0;
  int64_t flops = 0;         ///< multiply-adds x 2 (linear and lm head)
  int64_t weight_bytes = 0;  ///< weight bytes the op read (linear and lm head)
};

/// Time per op, summed over forward calls since the last reset. Costs two clock reads per op.
struct StepProfile {
  std::array<OpStats, kNumOps> ops{};
  int64_t forward_ns = 0;
  int64_t forwards = 0;
  int64_t tokens = 0;

  const OpStats& operator[](Op op) const { return ops[static_cast<size_t>(op)]; }
  OpStats& operator[](Op op) { return ops[static_cast<size_t>(op)]; }
};

/// Weight format at load (vLLM's --quantization): kAuto keeps what the checkpoint has; a float
/// checkpoint may be quantized at load to int8, int4 or fp8; a quantized checkpoint accepts
/// only kAuto or its own kind.
enum class Quantization : uint8_t { kAuto, kNone, kInt8, kInt4, kFp8 };
const char* quantization_name(Quantization q);
Result<Quantization> parse_quantization(const std::string& text);
/// "exact" or "reduced" (--activations).
Result<kernels::ActivationPrecision> parse_activation_precision(const std::string& text);
/// --kv-cache-dtype (vLLM's flag): "auto" (nullopt: auto_kv_cache_dtype), "float32", "bf16"
/// (or "bfloat16"), "fp8" (or "fp8_e4m3": float8_e4m3fn, per-layer scale 1).
Result<std::optional<kernels::KvDtype>> parse_kv_cache_dtype(const std::string& text);
/// What "auto" means for a checkpoint: bf16 when its torch_dtype is bfloat16 or float16 (half
/// the cache memory of float32, the precision the checkpoint was trained in), else float32.
kernels::KvDtype auto_kv_cache_dtype(const ModelConfig& cfg);
const char* kv_cache_dtype_name(kernels::KvDtype d);
/// OK when `q` can serve a checkpoint quantized with `cfg.quant`, else why not.
Status check_quantization(const ModelConfig& cfg, Quantization q);
/// The format a float checkpoint's linear weights are quantized to at load, if any.
std::optional<kernels::QuantTarget> requantize_target(const ModelConfig& cfg, Quantization q);

/// What `now` added since `before` (an earlier profile of the same model).
StepProfile profile_since(const StepProfile& now, const StepProfile& before);
/// "linear 81%, attention 9%, ...": each op's share of the forward time, largest first.
std::string profile_summary(const StepProfile& p);

class WeightCacheSession;

struct LoadOptions {
  /// Run every op through the reference backend (kernels/ref, the oracle) instead of the fast
  /// CPU backend (runtime/backend.h).
  bool reference_kernels = false;
  Quantization quantization = Quantization::kAuto;
  /// May the linear kernels round activations (--activations reduced; kernels/linear.h)?
  kernels::ActivationPrecision activations = kernels::ActivationPrecision::kExact;
  /// Fault every checkpoint page in at load (formats::MappedFile::prefault), so the first
  /// request does not pay for it (fathom serve: on unless --no-prefault).
  bool prefault = false;
  /// Weights the kernels read in place -- from the checkpoint's files when nothing is quantized
  /// or repacked, or from a weight cache hit -- copied into anonymous memory in transparent
  /// huge pages (formats::MappedFile::copy_to_huge_pages: fewer TLB misses per decoded token,
  /// for memory the page cache can no longer share between processes). kBackground copies on
  /// a low-priority thread after the load, so the first request does not wait (fathom serve);
  /// kAtLoad before load_model returns (fathom bench model). --no-huge-pages: kOff. Skipped
  /// (logged) when the copy would take more than half the memory available (MemAvailable,
  /// and a cgroup v2 limit less its anonymous memory): file pages can be dropped under
  /// pressure, the copy cannot. (When also says when pack_bf16 runs.)
  enum class When : uint8_t { kOff, kAtLoad, kBackground };
  When huge_pages = When::kOff;
  /// The kBF16 linear weights also packed losslessly into 12 bits per value
  /// (kernels/bf16_packed.h), which the one-row (decode) kernels then read instead: a quarter
  /// fewer bytes per decoded token, for three quarters of their size in more memory. Only on a
  /// CPU with AVX-512 BF16 or AVX2 (the kernels'), either activation precision. With kReduced
  /// activations on AVX-512 BF16, then also interleaved into the many-rows vdpbf16ps kernel's tiles
  /// (kernels/bf16_panel.h: batched decode and prefill skip their per-call interleaving, 1.7x
  /// at 32 rows) for their full size again. When as huge_pages (after the huge-page copy);
  /// each kind skipped likewise where memory is short. --no-bf16-pack: kOff.
  When pack_bf16 = When::kOff;
  /// The kInt4Grouped linear weights also interleaved into the AVX-512 VNNI int4 kernel's tiles
  /// (kernels/int4_panel.h), which calls of up to kInt4PanelMaxRows rows then read (decode:
  /// 16 outputs per zmm, no reduction across lanes; docs/benchmarks.md "int4 decode from an
  /// interleaved copy"). Only with kReduced activations on a CPU with AVX-512 VNNI, for the int4
  /// weights' size again in memory. When as pack_bf16 (after it); skipped likewise where memory is
  /// short.
  /// --no-int4-panel: kOff.
  When int4_panels = When::kOff;
  /// Load DeepSeek-V3's multi-token-prediction layer (model.layers.{num_layers}.*) as a draft
  /// module for speculative decoding; otherwise it is skipped.
  bool load_mtp = false;
  /// Keep the weights a load quantizes or repacks in a file beside the checkpoint (or under
  /// weight_cache_dir, default $FATHOM_CACHE_DIR or ~/.cache/fathom, when its folder is not
  /// writable) and map it on the next load (model/weight_cache.h; fathom serve: on unless
  /// --no-weight-cache).
  bool weight_cache = false;
  std::string weight_cache_dir;
  /// Set by load_model for the architecture's WeightLoader, not by callers.
  std::shared_ptr<WeightCacheSession> weight_cache_session;
};

/// A SwiGLU feed-forward block's weights (dense layers, experts, shared experts).
struct MlpWeights {
  kernels::LinearWeight gate, up, down;
};

class Model {
 public:
  /// Stops and joins the background work (run_in_background).
  virtual ~Model();

  const ModelConfig& config() const { return cfg_; }
  /// Floats per token per layer that this model keeps in the paged cache.
  virtual runtime::KvLayout kv_layout() const = 0;

  /// logits: resized to [output_rows.size(), vocab_size]. Validates the batch against the
  /// vocabulary, the cache and itself first; a bad batch is an InvalidArgument, never a crash.
  Status forward(const ForwardBatch& batch, runtime::KvStorage& kv, std::vector<float>& logits);

  /// [num_tokens, hidden_size]: the final-normed hidden states of the last forward whose
  /// batch set want_hidden.
  const std::vector<float>& last_hidden() const { return last_hidden_; }

  /// A multi-token-prediction draft module is loaded (LoadOptions::load_mtp).
  virtual bool has_mtp() const { return false; }
  /// Floats per token of the MTP module's own one-layer paged cache.
  virtual runtime::KvLayout mtp_kv_layout() const { return {}; }
  /// One MTP step (DeepSeek-V3 paper, section 2.2): batch token i is t(p+1) for position p and
  /// prev_hidden row i ([num_tokens, hidden_size]) the hidden state at p from the target (or
  /// from the previous MTP step when chaining). Writes the module's cache at p. logits:
  /// [output_rows, vocab]; hidden_out: [output_rows, hidden_size], the module's output before
  /// its head norm (the next chained step's prev_hidden).
  Status mtp_forward(const ForwardBatch& batch, const std::vector<float>& prev_hidden,
                     runtime::KvStorage& kv, std::vector<float>& logits,
                     std::vector<float>& hidden_out);

  /// The step profile since the last reset_profile (kOther = forward time no op claimed).
  StepProfile profile() const;
  void reset_profile() { profile_ = {}; }

  /// Bytes of all linear weights (embedding excluded; the LM head included), and the bytes a
  /// decode step of one token reads: MoE layers count their shared and top-k routed experts.
  struct WeightBytes {
    int64_t total = 0;
    int64_t per_token = 0;
  };
  virtual WeightBytes weight_bytes() const = 0;
  /// Calls fn on every linear weight a decode step reads through the linear kernels (the LM
  /// head included; not the embedding table, MoE routers or a draft module). For load-time
  /// work on the weights (LoadOptions::pack_bf16), before the model runs.
  virtual void for_each_linear(const std::function<void(kernels::LinearWeight&)>& fn) = 0;

  /// Called before each named linear layer of the forward pass (not MLA's grouped per-head
  /// products) with the layer's checkpoint prefix and its input x: [rows, cols]. Calibration
  /// (quant/) reads activations through it; empty (the default) costs one branch per linear.
  using LinearObserver =
      std::function<void(const std::string& prefix, const float* x, int64_t rows, int64_t cols)>;
  void set_linear_observer(LinearObserver observer) { observer_ = std::move(observer); }
  /// The projections LoRA adapters may target (PEFT module names and shapes).
  const lora::TargetTable& lora_targets() const { return lora_targets_; }

  /// Keeps the memory the weights point into (the mapped checkpoint) alive with the model.
  void keep_alive(std::shared_ptr<const void> owner) { owners_.push_back(std::move(owner)); }
  /// Runs `work` once on a thread of its own at low priority; the destructor sets its stop
  /// flag and joins it. At most one per model.
  void run_in_background(std::function<void(const std::atomic<bool>& stop)> work);

 protected:
  Model(ModelConfig cfg, LoadOptions opts);
  virtual void forward_validated(const ForwardBatch& batch, runtime::KvStorage& kv,
                                 float* logits) = 0;
  /// Only called when has_mtp().
  virtual void mtp_forward_validated(const ForwardBatch&, const float* /*prev_hidden*/,
                                     runtime::KvStorage&, float* /*logits*/,
                                     float* /*hidden_out*/) {}
  /// The backend every op runs on (LoadOptions::reference_kernels picks it). Model code calls
  /// the timed wrappers below, or the backend inside an OpTimer.
  runtime::Backend& backend() const { return *backend_; }
  /// A zero-filled float activation buffer of `shape` on the backend.
  runtime::Buffer alloc(std::vector<int64_t> shape) const {
    return backend_->alloc(std::move(shape));
  }
  /// y[n, out] = x[n, in] . W^T on the backend (plus the rows' LoRA updates).
  void linear(const kernels::LinearWeight& w, const float* x, int64_t n, float* y) const;
  /// ws.size() independent products of one shape, y_i[n, out] = x_i[n, in] . W_i^T with
  /// x = [ws.size(), n, in] and y = [ws.size(), n, out], one weight per thread: many small
  /// weights (MLA's per-head up-projections) without a pool wake-up for each.
  void linear_group(const std::vector<kernels::LinearWeight>& ws, const float* x, int64_t n,
                    float* y) const;
  /// Causal attention over the paged cache.
  void attention(const kernels::MhaShape& shape, const kernels::TokenLayout& tokens,
                 const kernels::PagedCache& cache, const float* q, float* out) const;
  /// Absorbed multi-head latent attention.
  void mla_attention(const kernels::MlaShape& shape, const kernels::TokenLayout& tokens,
                     const kernels::PagedCache& cache, const float* q_latent, const float* q_rope,
                     float* out) const;

  /// out[t, :] = the dequantized embedding row of each batch token. out: [num_tokens, in].
  void embed(const kernels::LinearWeight& table, const ForwardBatch& b, float* out) const;

  /// RMSNorm of n rows of w.size() values (the config's epsilon); out may be x.
  void norm(const float* x, const std::vector<float>& w, int64_t n, float* out) const;
  /// x[i] += y[i] for i < count.
  void add_residual(float* x, const float* y, int64_t count) const;

  /// SwiGLU feed-forward: out = down(silu(gate(x)) * up(x)). x: [n, hidden], out: [n, hidden].
  void mlp(const MlpWeights& w, const float* x, int64_t n, float* out) const;

  /// Gathers the final-normed rows whose logits are wanted and applies the LM head. x: [n, d]
  /// on the backend; logits: host.
  void lm_head_logits(const kernels::LinearWeight& head, const std::vector<float>& final_norm,
                      const float* x, const ForwardBatch& b, float* logits) const;

  /// Registers `w` (a weight the model keeps at a stable address) as the LoRA target `module`;
  /// every linear() over it then adds the batch rows' adapter updates. Called after load.
  void add_lora_target(const std::string& module, const kernels::LinearWeight& w);

  /// While alive, linear() reads row i's adapter from the batch row `token_of_row[i]`: for
  /// products over gathered rows (MoE experts). Nested scopes compose.
  class LoraRowScope {
   public:
    LoraRowScope(const Model* m, std::span<const int64_t> token_of_row);
    ~LoraRowScope();
    LoraRowScope(const LoraRowScope&) = delete;
    LoraRowScope& operator=(const LoraRowScope&) = delete;

   private:
    const Model* m_;
    std::vector<const lora::LoraAdapter*> rows_, saved_;
  };

  /// Adds the time from construction to destruction to one op of the profile. Not nested:
  /// the wrappers above time themselves, forward code times the rest.
  class OpTimer {
   public:
    OpTimer(const Model* m, Op op);
    ~OpTimer();
    OpTimer(const OpTimer&) = delete;
    OpTimer& operator=(const OpTimer&) = delete;

   private:
    OpStats& stats_;
    int64_t start_ns_;
  };

  ModelConfig cfg_;
  LoadOptions opts_;

 private:
  void linear_as(Op op, const kernels::LinearWeight& w, const float* x, int64_t n, float* y) const;
  Status validate_batch(const ForwardBatch& b, const runtime::KvStorage& kv,
                        const runtime::KvLayout& layout) const;

  std::unique_ptr<runtime::Backend> backend_;
  /// mlp()'s [n, intermediate] gate and up activations and the LM head's rows, kept and reused
  /// across layers and steps so a prefill does not fault in fresh pages for each layer.
  mutable runtime::Buffer mlp_gate_, mlp_up_, head_rows_, head_logits_;

  mutable StepProfile profile_;
  mutable std::vector<float> last_hidden_;
  LinearObserver observer_;
  std::vector<std::shared_ptr<const void>> owners_;
  std::atomic<bool> background_stop_{false};
  std::thread background_;
  lora::TargetTable lora_targets_;
  std::unordered_map<const kernels::LinearWeight*, int32_t> lora_target_of_;
  /// [rows of the current linear input] each row's adapter; empty when the batch has none.
  mutable std::vector<const lora::LoraAdapter*> lora_rows_;
};

/// Loads a Hugging Face model folder (config.json + safetensors) for any registered
/// architecture. Reports every missing or mis-shaped tensor at once.
Result<std::unique_ptr<Model>> load_model(const std::string& model_dir, LoadOptions opts = {});

}  // namespace fathom::model
