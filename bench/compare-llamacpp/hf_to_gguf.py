#!/usr/bin/env python3
"""Writes a fathom random-weight Hugging Face folder (bench/random_model) as a BF16 GGUF with
llama.cpp's own gguf-py, laid out as llama.cpp's convert_hf_to_gguf.py would lay it out for the
`qwen2` and `deepseek2` architectures (tensor names, metadata keys, stacked experts, F32 norms and
biases), with the tokenizer's tokens / types / merges / pre-tokenizer name and chat template.

The matrices keep their exact bf16 bits, so fathom on the folder and llama.cpp on the GGUF run
the very same weights. convert_hf_to_gguf.py itself needs torch, which this machine lacks.

  PYTHONPATH=/work/llama.cpp/gguf-py /usr/bin/python3 hf_to_gguf.py \
      --model DIR --tokenizer TOKDIR --out FILE.gguf
"""
import argparse
import json
import os
import re
import struct
import sys

import numpy as np
import gguf

# Hugging Face tensor name suffix (after model.layers.N.) -> llama.cpp's blk.N.* name.
LAYER_NAMES = {
    "input_layernorm.weight": "attn_norm.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.q_proj.bias": "attn_q.bias",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.k_proj.bias": "attn_k.bias",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.v_proj.bias": "attn_v.bias",
    "self_attn.o_proj.weight": "attn_output.weight",
    "self_attn.q_a_proj.weight": "attn_q_a.weight",
    "self_attn.q_a_layernorm.weight": "attn_q_a_norm.weight",
    "self_attn.q_b_proj.weight": "attn_q_b.weight",
    "self_attn.kv_a_proj_with_mqa.weight": "attn_kv_a_mqa.weight",
    "self_attn.kv_a_layernorm.weight": "attn_kv_a_norm.weight",
    "self_attn.kv_b_proj.weight": "attn_kv_b.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
    "mlp.gate.weight": "ffn_gate_inp.weight",
    "mlp.gate.e_score_correction_bias": "exp_probs_b.bias",
    "mlp.shared_experts.gate_proj.weight": "ffn_gate_shexp.weight",
    "mlp.shared_experts.up_proj.weight": "ffn_up_shexp.weight",
    "mlp.shared_experts.down_proj.weight": "ffn_down_shexp.weight",
}
TOP_NAMES = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
}
EXPERT = re.compile(r"mlp\.experts\.(\d+)\.(gate|up|down)_proj\.weight")


def read_safetensors(folder):
    """name -> (dtype string, shape, numpy memmap of the raw bytes) for every *.safetensors."""
    out = {}
    for f in sorted(os.listdir(folder)):
        if not f.endswith(".safetensors"):
            continue
        path = os.path.join(folder, f)
        with open(path, "rb") as fh:
            (n,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(n))
        data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
        for name, info in header.items():
            if name == "__metadata__":
                continue
            b, e = info["data_offsets"]
            out[name] = (info["dtype"], info["shape"], data[b:e])
    return out


def as_array(entry):
    """bf16 stays bf16 bits (uint16, written as GGML BF16); 1-D tensors become F32 as
    convert_hf_to_gguf.py writes norms and biases."""
    dtype, shape, raw = entry
    if dtype == "BF16":
        bits = raw.view(np.uint16).reshape(shape)
        if len(shape) == 1:
            return (bits.astype(np.uint32) << 16).view(np.float32), None
        return bits, gguf.GGMLQuantizationType.BF16
    if dtype == "F32":
        return raw.view(np.float32).reshape(shape), None
    if dtype == "F16":
        arr = raw.view(np.float16).reshape(shape)
        return (arr.astype(np.float32), None) if len(shape) == 1 else (arr, None)
    sys.exit(f"hf_to_gguf: tensor dtype {dtype} is not supported (bf16/f16/f32 folders only)")


def tokenizer_metadata(w, tok_dir, vocab_size):
    """tokens (padded to the model's vocab with [PADn] as convert_hf_to_gguf.py pads), token
    types, merges, the llama.cpp pre-tokenizer name, special ids and the chat template."""
    tj = json.load(open(os.path.join(tok_dir, "tokenizer.json"), encoding="utf-8"))
    cfg_path = os.path.join(tok_dir, "tokenizer_config.json")
    cj = json.load(open(cfg_path, encoding="utf-8")) if os.path.exists(cfg_path) else {}
    tokens = [f"[PAD{i}]" for i in range(vocab_size)]
    types = [gguf.TokenType.UNUSED] * vocab_size
    by_text = {}
    for text, i in tj["model"]["vocab"].items():
        if i < vocab_size:
            tokens[i], types[i] = text, gguf.TokenType.NORMAL
            by_text[text] = i
    for a in tj.get("added_tokens", []):
        if a["id"] < vocab_size:
            tokens[a["id"]] = a["content"]
            types[a["id"]] = gguf.TokenType.CONTROL if a.get("special") else gguf.TokenType.USER_DEFINED
            by_text[a["content"]] = a["id"]
    merges = []
    for m in tj["model"]["merges"]:
        a, b = m.split(" ", 1) if isinstance(m, str) else m
        if a + b in by_text:  # a vocabulary cut to the model's size drops the merges past it
            merges.append(f"{a} {b}")
    # The Split regexes decide llama.cpp's pre-tokenizer name (convert_hf_to_gguf.py hashes the
    # tokenization of a test text for the same purpose).
    pre = tj.get("pre_tokenizer") or {}
    splits = [p["pattern"].get("Regex") for p in pre.get("pretokenizers", [pre])
              if p.get("type") == "Split"]
    if len(splits) == 1 and splits[0].startswith("(?i:'s|'t|'re|'ve|'m|'ll|'d)") \
            and "\\p{N}|" in splits[0]:
        pre_name = "qwen2"
    elif len(splits) == 3 and splits[0] == "\\p{N}{1,3}":
        pre_name = "deepseek-v3"
    else:
        sys.exit("hf_to_gguf: the tokenizer's pre-tokenizer is neither qwen2's nor deepseek-v3's")
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre_name)
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)

    def special(key):
        v = cj.get(key)
        return v.get("content") if isinstance(v, dict) else v

    for key, add in (("bos_token", w.add_bos_token_id), ("eos_token", w.add_eos_token_id)):
        if special(key) in by_text:
            add(by_text[special(key)])
    w.add_add_bos_token(bool(cj.get("add_bos_token", False)))
    w.add_add_eos_token(bool(cj.get("add_eos_token", False)))
    if isinstance(cj.get("chat_template"), str):
        w.add_chat_template(cj["chat_template"])
    return pre_name


def model_metadata(w, c, arch):
    w.add_name(f"fathom random {c.get('model_type')}")
    w.add_block_count(c["num_hidden_layers"])
    w.add_context_length(c["max_position_embeddings"])
    w.add_embedding_length(c["hidden_size"])
    w.add_feed_forward_length(c["intermediate_size"])
    w.add_head_count(c["num_attention_heads"])
    w.add_head_count_kv(c.get("num_key_value_heads", c["num_attention_heads"]))
    w.add_rope_freq_base(float(c.get("rope_theta", 10000.0)))
    w.add_layer_norm_rms_eps(float(c["rms_norm_eps"]))
    w.add_file_type(gguf.LlamaFileType.MOSTLY_BF16)
    if arch != "deepseek2":
        return
    w.add_expert_count(c["n_routed_experts"])
    w.add_expert_used_count(c["num_experts_per_tok"])
    w.add_leading_dense_block_count(c["first_k_dense_replace"])
    w.add_vocab_size(c["vocab_size"])
    if c.get("q_lora_rank"):
        w.add_q_lora_rank(c["q_lora_rank"])
    w.add_kv_lora_rank(c["kv_lora_rank"])
    w.add_key_length(c["qk_nope_head_dim"] + c["qk_rope_head_dim"])
    w.add_value_length(c["v_head_dim"])
    w.add_expert_feed_forward_length(c["moe_intermediate_size"])
    w.add_expert_shared_count(c["n_shared_experts"])
    w.add_expert_weights_scale(float(c["routed_scaling_factor"]))
    w.add_expert_weights_norm(bool(c["norm_topk_prob"]))
    w.add_expert_gating_func(gguf.ExpertGatingFuncType.SIGMOID if c["scoring_func"] == "sigmoid"
                             else gguf.ExpertGatingFuncType.SOFTMAX)
    w.add_rope_dimension_count(c["qk_rope_head_dim"])
    rs = c.get("rope_scaling") or {}
    if rs.get("type") == "yarn":
        w.add_rope_scaling_type(gguf.RopeScalingType.YARN)
        w.add_rope_scaling_factor(float(rs["factor"]))
        w.add_rope_scaling_orig_ctx_len(rs["original_max_position_embeddings"])
        w.add_rope_scaling_yarn_log_mul(0.1 * rs["mscale_all_dim"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="Hugging Face folder (config.json, *.safetensors)")
    ap.add_argument("--tokenizer", required=True, help="folder with tokenizer.json (+ tokenizer_config.json)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    c = json.load(open(os.path.join(args.model, "config.json")))
    arch = {"qwen2": "qwen2", "deepseek_v2": "deepseek2", "deepseek_v3": "deepseek2"}.get(c["model_type"])
    if arch is None:
        sys.exit(f"hf_to_gguf: model_type {c['model_type']} is not qwen2 / deepseek_v2 / deepseek_v3")
    tensors = read_safetensors(args.model)
    w = gguf.GGUFWriter(args.out, arch)
    model_metadata(w, c, arch)
    pre = tokenizer_metadata(w, args.tokenizer, c["vocab_size"])

    experts = {}  # (layer, which) -> {expert: array}
    count = 0
    for name in tensors:
        arr, raw = as_array(tensors[name])
        if name in TOP_NAMES:
            w.add_tensor(TOP_NAMES[name], arr, raw_dtype=raw)
            count += 1
            continue
        m = re.match(r"model\.layers\.(\d+)\.(.*)", name)
        if not m:
            sys.exit(f"hf_to_gguf: no llama.cpp name for tensor {name}")
        layer, rest = int(m.group(1)), m.group(2)
        e = EXPERT.fullmatch(rest)
        if e:
            experts.setdefault((layer, e.group(2)), {})[int(e.group(1))] = (arr, raw)
            continue
        if rest not in LAYER_NAMES:
            sys.exit(f"hf_to_gguf: no llama.cpp name for tensor {name}")
        w.add_tensor(f"blk.{layer}.{LAYER_NAMES[rest]}", arr, raw_dtype=raw)
        count += 1
    for (layer, which), by_id in sorted(experts.items()):
        if sorted(by_id) != list(range(c["n_routed_experts"])):
            sys.exit(f"hf_to_gguf: layer {layer} {which}_proj lacks experts")
        stacked = np.stack([by_id[i][0] for i in range(len(by_id))])  # [n_expert, out, in]
        w.add_tensor(f"blk.{layer}.ffn_{which}_exps.weight", stacked, raw_dtype=by_id[0][1])
        count += 1

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file(progress=False)
    w.close()
    print(f"wrote {args.out}: {arch}, {count} tensors, tokenizer pre '{pre}'")


if __name__ == "__main__":
    main()
