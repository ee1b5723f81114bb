// libFuzzer target for a LoRA adapter's adapter_config.json (untrusted: adapters come from
// users and from POST /v1/load_lora_adapter). Every input gives a Status, never a throw or a
// crash; what is accepted must hold together (a disagreement traps): rank in [1, 4096], a
// finite positive-or-negative scale, and target matching that never crashes on odd names.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "model/lora/lora_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fathom;
  const std::string text(reinterpret_cast<const char*>(data), size);
  Result<model::lora::LoraConfig> c = model::lora::parse_lora_config(text, "fuzz.json");
  if (!c.ok()) {
    if (c.status().message().empty()) __builtin_trap();
    return 0;
  }
  if (c->rank < 1 || c->rank > 4096 || !std::isfinite(c->scale())) __builtin_trap();
  for (const char* module :
       {"model.layers.0.self_attn.q_proj", "model.layers.12.mlp.experts.3.down_proj", "", "x",
        "model.layers.0.self_attn.kv_a_proj_with_mqa"})
    (void)c->targets.matches(module);
  (void)c->targets.describe();
  return 0;
}
