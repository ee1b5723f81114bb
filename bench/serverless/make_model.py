#!/usr/bin/env python3
"""Writes a model folder shaped like DeepSeek-R1-Distill-Qwen-1.5B (Qwen2, bf16) with random
weights, for the cold-start benchmark: config.json, one model.safetensors (~3.5 GB) and the
real Qwen tokenizer (tokenizer.json + tokenizer_config.json from scripts/fetch_tokenizers.sh).

    bench/serverless/make_model.py OUT_DIR TOKENIZER_DIR

The weights are a 1 MiB block of N(0, 0.02) bf16 values repeated (norms are 1.0): the same
bytes to map, fault in and read as real weights, written at disk speed without numpy.
"""
import json
import os
import random
import shutil
import struct
import sys

CONFIG = {
    "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "torch_dtype": "bfloat16",
    "hidden_size": 1536, "intermediate_size": 8960, "num_hidden_layers": 28,
    "num_attention_heads": 12, "num_key_value_heads": 2, "vocab_size": 151936,
    "max_position_embeddings": 131072, "rope_theta": 10000, "rms_norm_eps": 1e-6,
    "tie_word_embeddings": False, "hidden_act": "silu", "bos_token_id": 151646,
    "eos_token_id": 151643, "use_sliding_window": False, "sliding_window": 4096,
    "max_window_layers": 21, "initializer_range": 0.02,
}


def bf16(x):
    return struct.unpack("<I", struct.pack("<f", x))[0] >> 16


def tensors():
    h, i, v = CONFIG["hidden_size"], CONFIG["intermediate_size"], CONFIG["vocab_size"]
    kv = CONFIG["num_key_value_heads"] * (h // CONFIG["num_attention_heads"])
    yield "model.embed_tokens.weight", [v, h], "w"
    for layer in range(CONFIG["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        yield p + "input_layernorm.weight", [h], "one"
        yield p + "post_attention_layernorm.weight", [h], "one"
        for name, rows in (("q_proj", h), ("k_proj", kv), ("v_proj", kv)):
            yield p + f"self_attn.{name}.weight", [rows, h], "w"
            yield p + f"self_attn.{name}.bias", [rows], "w"
        yield p + "self_attn.o_proj.weight", [h, h], "w"
        yield p + "mlp.gate_proj.weight", [i, h], "w"
        yield p + "mlp.up_proj.weight", [i, h], "w"
        yield p + "mlp.down_proj.weight", [h, i], "w"
    yield "model.norm.weight", [h], "one"
    yield "lm_head.weight", [v, h], "w"


def main():
    out, tok_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    rng = random.Random(0)
    block = struct.pack("<524288H", *(bf16(rng.gauss(0, 0.02)) for _ in range(524288)))
    one = struct.pack("<H", bf16(1.0))
    header, offset = {}, 0
    items = list(tensors())
    for name, shape, _ in items:
        n = 2
        for d in shape:
            n *= d
        header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(os.path.join(out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for name, shape, kind in items:
            n = 2
            for d in shape:
                n *= d
            if kind == "one":
                f.write(one * (n // 2))
                continue
            while n > 0:
                f.write(block[: min(n, len(block))])
                n -= len(block)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(tok_dir, name), os.path.join(out, name))
    print(f"{out}: {offset / 1e9:.2f} GB of bf16 weights, {len(items)} tensors")


if __name__ == "__main__":
    main()
