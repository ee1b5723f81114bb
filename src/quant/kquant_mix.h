// The per-tensor types of llama.cpp's k-quant "ftypes" (llama-quant.cpp llama_tensor_get_type):
// Q4_K_M, Q5_K_M, Q6_K and Q8_0 as llama-quantize assigns them, tensor by tensor in file order,
// for the GGUF tensor names gguf_export writes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "tensor/ggml_type.h"

namespace fathom::quant {

enum class KQuantMix : uint8_t { kQ4_K_M, kQ5_K_M, kQ6_K, kQ8_0 };

/// "q4_k_m", "q5_k_m", "q6_k", "q8_0" (the --method names).
const char* kquant_mix_name(KQuantMix m);
/// A --method text as a mix; an error for anything else is the caller's (not every method is a
/// mix), so this returns false there.
bool parse_kquant_mix(const std::string& text, KQuantMix* out);
/// The ftype's default type (llama_model_quantize_impl's default_type).
GgmlType kquant_mix_default_type(KQuantMix m);

/// What the rules read of the model (llama.cpp's hparams and quantize_state_impl counts).
struct KQuantModelInfo {
  std::string arch;            ///< GGUF general.architecture: llama, qwen2, deepseek2
  int64_t n_layer = 0;         ///< block_count
  int64_t n_expert = 0;        ///< routed experts (0 or 1: dense)
  bool has_output = true;      ///< false when the LM head is tied to token_embd
  int64_t n_attention_wv = 0;  ///< tensors named attn_v / attn_qkv / attn_kv_b in the file
};

/// llama_tensor_get_type as a walk: call type_for for each tensor of the file in order (its
/// counters of attn_v and ffn_down tensors seen so far decide use_more_bits). The result is
/// before the block-size fallback (model::ggml_fallback_type applies llama.cpp's).
class KQuantMixPlanner {
 public:
  KQuantMixPlanner(KQuantMix mix, KQuantModelInfo info);

  /// The type of GGUF tensor `name` of `dims` (innermost first). Tensors llama-quantize leaves
  /// unquantized (1-D, norms, the MoE router ffn_gate_inp) get F32, as the converter wrote
  /// them.
  GgmlType type_for(const std::string& name, const std::vector<int64_t>& dims);

 private:
  GgmlType rule(const std::string& name, int64_t cols, GgmlType t);

  KQuantMix mix_;
  KQuantModelInfo info_;
  int64_t i_attention_wv_ = 0;
  int64_t i_ffn_down_ = 0;
};

}  // namespace fathom::quant
