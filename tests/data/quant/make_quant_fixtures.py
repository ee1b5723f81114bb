#!/usr/bin/env python3
"""Writes the quantized-linear fixtures under tests/data/quant/ (one folder per case).

Each folder holds model.safetensors (one linear layer, prefix below, packed by quantpack.py
exactly as the real tools store it), config.json (its quantization_config) and
expected.safetensors ("dequant_fp32": what a correct loader must reconstruct bit for bit; the
original float weight is left out to keep the folders small). tests/model/linear_fixture_test.cpp checks fathom against them.

Usage (from the repository root; needs numpy: apt-get install python3-numpy):
    python3 tests/data/quant/make_quant_fixtures.py tests/data/quant
"""
import os
import sys

try:
    import numpy as np
except ImportError:  # e.g. a pyenv python without numpy: retry with Debian's, which has it
    if os.path.exists("/usr/bin/python3") and \
            os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import quantpack as qp  # noqa: E402

PREFIX = "model.layers.0.mlp.down_proj"


def weight(rng, out_f, in_f):
    return (rng.standard_normal((out_f, in_f)) * 0.05).astype(np.float32)


def gptq_case(w, group_size, sym, desc_act, fmt, underflow="error"):
    t = qp.pack_gptq(w, group_size, sym=sym, desc_act=desc_act, checkpoint_format=fmt,
                     prefix=PREFIX, v1_zero_underflow=underflow)
    cfg = qp.gptq_quantization_config(group_size=group_size, desc_act=desc_act, sym=sym,
                                      checkpoint_format=fmt)
    return t, cfg, qp.dequant_gptq(t, fmt, PREFIX)


def main(outdir):
    rng = np.random.default_rng(20261128)
    w = weight(rng, 72, 96)
    cases = {}
    cases["gptq_sym_v1"] = gptq_case(w, 32, True, False, "gptq") + (w,)
    cases["gptq_asym_v2"] = gptq_case(w, 32, False, False, "gptq_v2") + (w,)
    # v1 cannot store a zero point of 0: GPTQModel's borrowed words read back as zero 16.
    cases["gptq_asym_v1_wrap"] = gptq_case(w, 32, False, False, "gptq", "wrap") + (w,)
    cases["gptq_sym_descact_v1"] = gptq_case(w, 32, True, True, "gptq") + (w,)
    cases["gptq_asym_descact_v2"] = gptq_case(w, 16, False, True, "gptq_v2") + (w,)
    cases["gptq_rowgroup_v2"] = gptq_case(w, -1, False, False, "gptq_v2") + (w,)
    for gs in (32, -1):
        t = qp.pack_awq(w, gs, prefix=PREFIX)
        cases["awq_gemm_g%s" % ("row" if gs == -1 else gs)] = (
            t, qp.awq_quantization_config(gs), qp.dequant_awq(t, PREFIX), w)
    for (bo, bi), (o, i) in (((16, 16), (40, 56)), ((128, 128), (136, 132)),
                             ((8, 24), (30, 50))):
        wf = weight(rng, o, i)
        t = qp.pack_fp8_block(wf, (bo, bi), prefix=PREFIX)
        cases["fp8_block_%dx%d" % (bo, bi)] = (
            t, qp.fp8_block_quantization_config((bo, bi)),
            qp.dequant_fp8_block(t, (bo, bi), PREFIX), wf)
    w90 = weight(rng, 24, 90)
    for layout, scale_dtype, ww, tag in (("int-quantized", "BF16", w, ""),
                                         ("pack-quantized", "BF16", w, ""),
                                         ("int-quantized", "F16", w90, "_f16_in90"),
                                         ("pack-quantized", "F32", w90, "_f32_in90")):
        t = qp.pack_int8_channel(ww, layout, scale_dtype, prefix=PREFIX)
        name = "int8_" + layout.replace("-", "_") + tag
        cases[name] = (t, qp.int8_channel_quantization_config(layout),
                       qp.dequant_int8_channel(t, PREFIX), ww)
    for name, (t, cfg, deq, src) in sorted(cases.items()):
        del src  # weight_fp32 is not stored: it would double each folder and no test needs it
        qp.write_fixture_dir(os.path.join(outdir, name), t, cfg, None, deq,
                             base_config={"fathom_test_prefix": PREFIX})
        print(name, {k: v for k, v in t.describe().items()})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))))
