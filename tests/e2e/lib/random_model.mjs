// Writes a Llama-shaped checkpoint with random bf16 weights (a "benchmark-shaped" model) next
// to the llama fixture's tokenizer, for tests and benchmarks that need real sizes.
import { copyFileSync, mkdtempSync, openSync, writeSync, closeSync, writeFileSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { modelsDir } from './server.mjs';

/** Returns the folder. Weights are +-(2^-7 .. 2^-6) with random signs (finite logits). */
export function writeRandomLlama({ hidden = 1024, layers = 8, intermediate = 2816, heads = 8, kvHeads = 8, maxPositions = 2048 } = {}) {
  const vocab = 512;  // the llama fixture's tokenizer
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fathom-random-llama-'));
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) {
    copyFileSync(path.join(modelsDir, 'llama', f), path.join(dir, f));
  }
  const headDim = hidden / heads;
  const tensors = [['model.embed_tokens.weight', [vocab, hidden]], ['lm_head.weight', [vocab, hidden]], ['model.norm.weight', [hidden]]];
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}.`;
    tensors.push([p + 'input_layernorm.weight', [hidden]], [p + 'post_attention_layernorm.weight', [hidden]],
      [p + 'self_attn.q_proj.weight', [heads * headDim, hidden]], [p + 'self_attn.k_proj.weight', [kvHeads * headDim, hidden]],
      [p + 'self_attn.v_proj.weight', [kvHeads * headDim, hidden]], [p + 'self_attn.o_proj.weight', [hidden, heads * headDim]],
      [p + 'mlp.gate_proj.weight', [intermediate, hidden]], [p + 'mlp.up_proj.weight', [intermediate, hidden]],
      [p + 'mlp.down_proj.weight', [hidden, intermediate]]);
  }
  const header = {};
  let offset = 0;
  for (const [name, shape] of tensors) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 2;
    header[name] = { dtype: 'BF16', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const fd = openSync(path.join(dir, 'model.safetensors'), 'w');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeSync(fd, len);
  writeSync(fd, Buffer.from(json));
  for (const [name, shape] of tensors) {
    const n = shape.reduce((a, b) => a * b, 1);
    const buf = Buffer.alloc(n * 2);
    if (name.endsWith('norm.weight')) {
      for (let i = 0; i < n; i++) buf.writeUInt16LE(0x3f80, 2 * i);  // 1.0
    } else {
      randomFillSync(buf);
      // Keep sign and low mantissa bits; exponent 2^-7: |w| in [0.0078, 0.0156).
      for (let i = 1; i < buf.length; i += 2) buf[i] = (buf[i] & 0x80) | 0x3c;
    }
    writeSync(fd, buf);
  }
  closeSync(fd);
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({
    architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: vocab, hidden_size: hidden,
    intermediate_size: intermediate, num_hidden_layers: layers, num_attention_heads: heads, num_key_value_heads: kvHeads,
    max_position_embeddings: maxPositions, rms_norm_eps: 1e-6, rope_theta: 10000.0, bos_token_id: 0, eos_token_id: 1,
    tie_word_embeddings: false, torch_dtype: 'bfloat16',
  }, null, 2));
  return dir;
}
