#include "model/model.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "base/check.h"
#include "model/lora/lora_apply.h"

namespace fathom::model {

namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

const char* op_name(Op op) {
  switch (op) {
    case Op::kEmbed:
      return "embed";
    case Op::kNorm:
      return "norm";
    case Op::kLinear:
      return "linear";
    case Op::kRope:
      return "rope";
    case Op::kKvWrite:
      return "kv_write";
    case Op::kAttention:
      return "attention";
    case Op::kActivation:
      return "activation";
    case Op::kMoeRouting:
      return "moe_routing";
    case Op::kLmHead:
      return "lm_head";
    case Op::kOther:
      return "other";
  }
  return "unknown";
}

Model::OpTimer::OpTimer(const Model* m, Op op) : stats_(m->profile_[op]), start_ns_(now_ns()) {}

Model::OpTimer::~OpTimer() {
  stats_.ns += now_ns() - start_ns_;
  ++stats_.calls;
}

StepProfile Model::profile() const {
  StepProfile p = profile_;
  int64_t claimed = 0;
  for (int i = 0; i + 1 < kNumOps; ++i) claimed += p.ops[static_cast<size_t>(i)].ns;
  p[Op::kOther].ns = std::max<int64_t>(0, p.forward_ns - claimed);
  p[Op::kOther].calls = p.forwards;
  return p;
}

const char* quantization_name(Quantization q) {
  switch (q) {
    case Quantization::kAuto:
      return "auto";
    case Quantization::kNone:
      return "none";
    case Quantization::kInt8:
      return "int8";
    case Quantization::kInt4:
      return "int4";
    case Quantization::kFp8:
      return "fp8";
  }
  return "unknown";
}

Result<Quantization> parse_quantization(const std::string& text) {
  for (Quantization q : {Quantization::kAuto, Quantization::kNone, Quantization::kInt8,
                         Quantization::kInt4, Quantization::kFp8})
    if (text == quantization_name(q)) return q;
  return invalid_argument("quantization '" + text + "' is not one of auto, none, int8, int4, fp8");
}

Result<std::optional<kernels::KvDtype>> parse_kv_cache_dtype(const std::string& text) {
  if (text == "auto") return std::optional<kernels::KvDtype>();
  if (text == "float32") return std::optional(kernels::KvDtype::kF32);
  if (text == "bf16" || text == "bfloat16") return std::optional(kernels::KvDtype::kBf16);
  if (text == "fp8" || text == "fp8_e4m3") return std::optional(kernels::KvDtype::kFp8);
  return invalid_argument("--kv-cache-dtype: '" + text +
                          "' is not one of auto, float32, bf16, fp8");
}

kernels::KvDtype auto_kv_cache_dtype(const ModelConfig& cfg) {
  return cfg.torch_dtype == "bfloat16" || cfg.torch_dtype == "float16" ? kernels::KvDtype::kBf16
                                                                       : kernels::KvDtype::kF32;
}

const char* kv_cache_dtype_name(kernels::KvDtype d) {
  return d == kernels::KvDtype::kF32 ? "float32" : d == kernels::KvDtype::kBf16 ? "bf16" : "fp8";
}

Result<kernels::ActivationPrecision> parse_activation_precision(const std::string& text) {
  for (auto a : {kernels::ActivationPrecision::kExact, kernels::ActivationPrecision::kReduced})
    if (text == kernels::activation_precision_name(a)) return a;
  return invalid_argument("activations '" + text + "' is not one of exact, reduced");
}

namespace {

/// The --quantization value that names what a quantized checkpoint already holds.
Quantization stored_kind(QuantMethod m) {
  switch (m) {
    case QuantMethod::kNone:
      return Quantization::kNone;
    case QuantMethod::kFp8Block:
      return Quantization::kFp8;
    case QuantMethod::kGptq:
    case QuantMethod::kAwq:
      return Quantization::kInt4;
    case QuantMethod::kCompressedTensors:
      return Quantization::kInt8;
  }
  return Quantization::kNone;
}

}  // namespace

Status check_quantization(const ModelConfig& cfg, Quantization q) {
  if (cfg.quant.method == QuantMethod::kNone || q == Quantization::kAuto) return ok_status();
  const Quantization stored = stored_kind(cfg.quant.method);
  if (q == stored) return ok_status();
  return invalid_argument(std::string("--quantization ") + quantization_name(q) +
                          " does not match the checkpoint, which is already quantized (" +
                          quant_method_name(cfg.quant.method) + ", " + quantization_name(stored) +
                          "); use --quantization auto or " + quantization_name(stored));
}

std::optional<kernels::QuantTarget> requantize_target(const ModelConfig& cfg, Quantization q) {
  if (cfg.quant.method != QuantMethod::kNone) return std::nullopt;
  switch (q) {
    case Quantization::kInt8:
      return kernels::QuantTarget::kInt8Channel;
    case Quantization::kInt4:
      return kernels::QuantTarget::kInt4Grouped;
    case Quantization::kFp8:
      return kernels::QuantTarget::kFp8Block;
    case Quantization::kAuto:
    case Quantization::kNone:
      return std::nullopt;
  }
  return std::nullopt;
}

StepProfile profile_since(const StepProfile& now, const StepProfile& before) {
  StepProfile d = now;
  for (size_t i = 0; i < d.ops.size(); ++i) {
    d.ops[i].ns -= before.ops[i].ns;
    d.ops[i].calls -= before.ops[i].calls;
    d.ops[i].flops -= before.ops[i].flops;
    d.ops[i].weight_bytes -= before.ops[i].weight_bytes;
  }
  d.forward_ns -= before.forward_ns;
  d.forwards -= before.forwards;
  d.tokens -= before.tokens;
  return d;
}

std::string profile_summary(const StepProfile& p) {
  std::vector<std::pair<double, Op>> shares;
  for (int i = 0; i < kNumOps; ++i) {
    const auto op = static_cast<Op>(i);
    if (p[op].ns > 0 && p.forward_ns > 0)
      shares.emplace_back(100.0 * static_cast<double>(p[op].ns) / static_cast<double>(p.forward_ns),
                          op);
  }
  std::stable_sort(shares.begin(), shares.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::string out;
  for (const auto& [pct, op] : shares) {
    if (pct < 0.5) continue;
    out += (out.empty() ? "" : ", ") + std::string(op_name(op)) + " " +
           std::to_string(static_cast<int>(pct + 0.5)) + "%";
  }
  return out;
}

Model::Model(ModelConfig cfg, LoadOptions opts)
    : cfg_(std::move(cfg)),
      opts_(opts),
      backend_(opts.reference_kernels ? runtime::make_reference_backend()
                                      : runtime::make_cpu_backend(opts.activations)) {}

Model::~Model() {
  background_stop_.store(true, std::memory_order_relaxed);
  if (background_.joinable()) background_.join();
}

void Model::run_in_background(std::function<void(const std::atomic<bool>& stop)> work) {
  FATHOM_CHECK(!background_.joinable());
  background_ = std::thread([this, work = std::move(work)] {
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);  // behind the requests
    work(background_stop_);
  });
}

void Model::linear(const kernels::LinearWeight& w, const float* x, int64_t n, float* y) const {
  linear_as(Op::kLinear, w, x, n, y);
}

void Model::linear_as(Op op, const kernels::LinearWeight& w, const float* x, int64_t n,
                      float* y) const {
  if (observer_ && !w.name.empty()) observer_(w.name, x, n, w.in_features);
  OpTimer timer(this, op);
  OpStats& s = profile_[op];
  s.flops += 2 * n * w.out_features * w.in_features;
  s.weight_bytes += n == 1 ? w.one_row_bytes() : w.size_bytes();
  backend_->linear(w, x, n, y);
  if (lora_rows_.empty()) return;
  auto target = lora_target_of_.find(&w);
  if (target == lora_target_of_.end()) return;
  FATHOM_DCHECK(static_cast<int64_t>(lora_rows_.size()) == n);
  s.flops += lora::add_lora_delta(*backend_, target->second, lora_rows_, x, w.in_features, y,
                                  w.out_features);
}

void Model::add_lora_target(const std::string& module, const kernels::LinearWeight& w) {
  lora_target_of_[&w] = lora_targets_.add({module, w.out_features, w.in_features});
}

Model::LoraRowScope::LoraRowScope(const Model* m, std::span<const int64_t> token_of_row) : m_(m) {
  if (m_->lora_rows_.empty()) return;
  rows_.reserve(token_of_row.size());
  for (int64_t t : token_of_row) rows_.push_back(m_->lora_rows_[static_cast<size_t>(t)]);
  saved_.swap(m_->lora_rows_);
  m_->lora_rows_ = rows_;
}

Model::LoraRowScope::~LoraRowScope() {
  if (!saved_.empty()) m_->lora_rows_.swap(saved_);
}

void Model::linear_group(const std::vector<kernels::LinearWeight>& ws, const float* x, int64_t n,
                         float* y) const {
  if (ws.empty()) return;
  OpTimer timer(this, Op::kLinear);
  OpStats& s = profile_[Op::kLinear];
  for (const kernels::LinearWeight& w : ws) {
    FATHOM_DCHECK(w.in_features == ws[0].in_features && w.out_features == ws[0].out_features);
    s.flops += 2 * n * w.out_features * w.in_features;
    s.weight_bytes += n == 1 ? w.one_row_bytes() : w.size_bytes();
  }
  backend_->linear_group(ws, x, n, y);
}

void Model::attention(const kernels::MhaShape& shape, const kernels::TokenLayout& tokens,
                      const kernels::PagedCache& cache, const float* q, float* out) const {
  OpTimer timer(this, Op::kAttention);
  backend_->attention(shape, tokens, cache, q, out);
}

void Model::mla_attention(const kernels::MlaShape& shape, const kernels::TokenLayout& tokens,
                          const kernels::PagedCache& cache, const float* q_latent,
                          const float* q_rope, float* out) const {
  OpTimer timer(this, Op::kAttention);
  backend_->mla_attention(shape, tokens, cache, q_latent, q_rope, out);
}

void Model::embed(const kernels::LinearWeight& table, const ForwardBatch& b, float* out) const {
  OpTimer timer(this, Op::kEmbed);
  backend_->embed(table, b.token_ids.data(), b.num_tokens(), out);
}

void Model::norm(const float* x, const std::vector<float>& w, int64_t n, float* out) const {
  OpTimer timer(this, Op::kNorm);
  const int64_t dim = static_cast<int64_t>(w.size());
  backend_->rms_norm(x, w.data(), n, dim, static_cast<float>(cfg_.rms_norm_eps), out);
}

void Model::add_residual(float* x, const float* y, int64_t count) const {
  OpTimer timer(this, Op::kActivation);
  backend_->add(x, y, count);
}

void Model::mlp(const MlpWeights& w, const float* x, int64_t n, float* out) const {
  const int64_t inter = w.gate.out_features;
  backend_->reserve(mlp_gate_, n * inter);
  backend_->reserve(mlp_up_, n * inter);
  float* gate = mlp_gate_.f32();
  float* up = mlp_up_.f32();
  linear(w.gate, x, n, gate);
  linear(w.up, x, n, up);
  {
    OpTimer timer(this, Op::kActivation);
    backend_->silu_mul(gate, up, n * inter, gate);
  }
  linear(w.down, gate, n, out);
}

void Model::lm_head_logits(const kernels::LinearWeight& head, const std::vector<float>& final_norm,
                           const float* x, const ForwardBatch& b, float* logits) const {
  const int64_t d = cfg_.hidden_size;
  const int64_t rows = static_cast<int64_t>(b.output_rows.size());
  backend_->reserve(head_rows_, rows * d);
  backend_->reserve(head_logits_, rows * head.out_features);
  float* h = head_rows_.f32();
  const std::vector<int64_t> wanted(b.output_rows.begin(), b.output_rows.end());
  backend_->gather_rows(x, d, wanted, h, d, 0);
  norm(h, final_norm, rows, h);
  if (b.want_hidden) {
    runtime::Buffer hidden = alloc({b.num_tokens(), d});
    norm(x, final_norm, b.num_tokens(), hidden.f32());
    last_hidden_.resize(static_cast<size_t>(b.num_tokens() * d));
    backend_->copy_to_host(last_hidden_.data(), hidden, hidden.size_bytes());
  }
  linear_as(Op::kLmHead, head, h, rows, head_logits_.f32());
  OpTimer timer(this, Op::kLmHead);
  backend_->copy_to_host(logits, head_logits_,
                         rows * head.out_features * runtime::dtype_size(runtime::DType::kF32));
}

Status Model::validate_batch(const ForwardBatch& b, const runtime::KvStorage& kv,
                             const runtime::KvLayout& layout) const {
  const int64_t n = b.num_tokens();
  if (n == 0) return invalid_argument("forward: empty batch");
  if (static_cast<int64_t>(b.positions.size()) != n || static_cast<int64_t>(b.seq_idx.size()) != n)
    return invalid_argument("forward: token_ids, positions and seq_idx differ in length");
  if (kv.layout().num_layers != layout.num_layers || kv.layout().entry_dim != layout.entry_dim)
    return invalid_argument("forward: KV storage layout does not match the model");
  for (const auto& table : b.block_tables)
    for (int32_t id : table)
      if (id < 0 || id >= kv.num_blocks())
        return invalid_argument("forward: block id " + std::to_string(id) + " out of range");
  for (int64_t i = 0; i < n; ++i) {
    const int32_t tok = b.token_ids[i], pos = b.positions[i], s = b.seq_idx[i];
    if (tok < 0 || tok >= cfg_.vocab_size)
      return invalid_argument("forward: token id " + std::to_string(tok) + " outside the vocabulary of " +
                              std::to_string(cfg_.vocab_size));
    if (s < 0 || s >= static_cast<int32_t>(b.block_tables.size()))
      return invalid_argument("forward: seq_idx " + std::to_string(s) + " has no block table");
    const int64_t capacity =
        static_cast<int64_t>(b.block_tables[s].size()) * kv.block_size();
    if (pos < 0 || pos >= capacity)
      return invalid_argument("forward: position " + std::to_string(pos) + " of sequence " +
                              std::to_string(s) + " is outside its " + std::to_string(capacity) +
                              " cache slots");
  }
  for (int32_t r : b.output_rows)
    if (r < 0 || r >= n) return invalid_argument("forward: output row " + std::to_string(r) + " out of range");
  return ok_status();
}

Status Model::forward(const ForwardBatch& b, runtime::KvStorage& kv, std::vector<float>& logits) {
  FATHOM_RETURN_IF_ERROR(validate_batch(b, kv, kv_layout()));
  const int64_t n = b.num_tokens();
  lora_rows_.clear();
  if (!b.seq_lora.empty()) {
    if (b.seq_lora.size() != b.block_tables.size())
      return invalid_argument("forward: seq_lora has " + std::to_string(b.seq_lora.size()) +
                              " entries for " + std::to_string(b.block_tables.size()) +
                              " sequences");
    for (const lora::LoraAdapter* a : b.seq_lora)
      if (a && a->targets_fingerprint != lora_targets_.fingerprint())
        return invalid_argument("forward: LoRA adapter '" + a->name +
                                "' was loaded for another model");
    for (int64_t i = 0; i < n; ++i)
      lora_rows_.push_back(b.seq_lora[static_cast<size_t>(b.seq_idx[i])]);
    if (std::all_of(lora_rows_.begin(), lora_rows_.end(), [](auto* a) { return a == nullptr; }))
      lora_rows_.clear();
  }
  const int64_t start = now_ns();
  logits.assign(b.output_rows.size() * static_cast<size_t>(cfg_.vocab_size), 0.0f);
  forward_validated(b, kv, logits.data());
  lora_rows_.clear();
  profile_.forward_ns += now_ns() - start;
  ++profile_.forwards;
  profile_.tokens += n;
  return ok_status();
}

Status Model::mtp_forward(const ForwardBatch& b, const std::vector<float>& prev_hidden,
                          runtime::KvStorage& kv, std::vector<float>& logits,
                          std::vector<float>& hidden_out) {
  if (!has_mtp()) return invalid_argument("mtp_forward: no multi-token-prediction module loaded");
  FATHOM_RETURN_IF_ERROR(validate_batch(b, kv, mtp_kv_layout()));
  if (static_cast<int64_t>(prev_hidden.size()) != b.num_tokens() * cfg_.hidden_size)
    return invalid_argument("mtp_forward: prev_hidden holds " + std::to_string(prev_hidden.size()) +
                            " floats, expected num_tokens x hidden_size");
  logits.assign(b.output_rows.size() * static_cast<size_t>(cfg_.vocab_size), 0.0f);
  hidden_out.assign(b.output_rows.size() * static_cast<size_t>(cfg_.hidden_size), 0.0f);
  mtp_forward_validated(b, prev_hidden.data(), kv, logits.data(), hidden_out.data());
  return ok_status();
}

}  // namespace fathom::model
