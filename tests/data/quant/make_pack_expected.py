#!/usr/bin/env python3
"""Writes tests/data/quant/pack_expected/expected.safetensors: one float weight and what
quantpack.py (the reference packers) makes of it, for tests/quant/quant_pack_test.cpp to check
fathom quantize's packers and round-to-nearest grids against byte for byte.

Tensors:
  weight            F32 [16, 64]  the original
  rtn_gptq.*        pack_gptq(weight, group_size=32, sym=True, checkpoint_format="gptq")
  rtn_awq.*         pack_awq(weight, group_size=32)
  int8.*            pack_int8_channel(weight, "pack-quantized", "BF16")
  act.q/.scales/.zeros/.g_idx   gptq_quantize(weight, 32, desc_act=True, perm) integers
  act_packed.*      pack_gptq_q(those integers) (act-order g_idx, v1 zeros)

Usage (from the repository root; needs numpy):
    python3 tests/data/quant/make_pack_expected.py tests/data/quant/pack_expected
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import quantpack as qp  # noqa: E402


def main(out_dir):
    rng = np.random.default_rng(20261206)
    w = (rng.standard_normal((16, 64)) * 0.05).astype(np.float32)
    w[3, 40:48] = 0.0  # a partly zero row: the grids must agree there too
    t = qp.Tensors({"weight": w})
    t.update(qp.pack_gptq(w, group_size=32, sym=True, checkpoint_format="gptq", prefix="rtn_gptq"))
    t.update(qp.pack_awq(w, group_size=32, prefix="rtn_awq"))
    i8 = qp.pack_int8_channel(w, "pack-quantized", "BF16", prefix="int8")
    t.update(i8)
    t.dtypes.update(i8.dtypes)
    perm = rng.permutation(64)
    q, s, z, g = qp.gptq_quantize(w, 32, 4, True, True, perm)
    t.update({"act.q": q.astype(np.int32), "act.scales": s, "act.zeros": z.astype(np.int32),
              "act.g_idx": g})
    t.update(qp.pack_gptq_q(q, s, z, g, 4, "gptq").with_prefix("act_packed"))
    os.makedirs(out_dir, exist_ok=True)
    qp.save_safetensors(os.path.join(out_dir, "expected.safetensors"), t, {"format": "pt"})


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/quant/pack_expected")
