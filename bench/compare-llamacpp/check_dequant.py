#!/usr/bin/env python3
"""Check (a): fathom's dequantization of GGUF tensors equals llama.cpp's gguf-py dequantizers.

For up to --per-type tensors of every GGML type in each file (the first ones in file order, and
as many 3-D ones: experts stacked per layer; at most --rows rows of each), dumps fathom's values with build/.../gguf_dequant and compares them
with gguf.quants.dequantize on the bytes gguf-py's GGUFReader reads, bit for bit (float32 bit
patterns; a mismatch is reported with its largest distance in ulps). Exits 1 on any mismatch.

  PYTHONPATH=/work/llama.cpp/gguf-py /usr/bin/python3 check_dequant.py \
      --tool build/dev/bench/gguf_dequant --work DIR FILE.gguf...
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import gguf


def compare(tool, path, work, per_type, max_rows):
    reader = gguf.GGUFReader(path)
    chosen, seen = [], {}
    for t in reader.tensors:
        key = (t.tensor_type.name, len(t.shape) == 3)  # stacked experts get their own quota
        if seen.get(key, 0) < per_type:
            seen[key] = seen.get(key, 0) + 1
            chosen.append(t)
    os.makedirs(work, exist_ok=True)
    rows = {t.name: min(max_rows, int(np.prod(t.shape[1:])) if len(t.shape) > 1 else 1)
            for t in chosen}
    subprocess.run([tool, path, work] + [f"{t.name}:{rows[t.name]}" for t in chosen],
                   check=True, stdout=subprocess.DEVNULL)
    results = []
    for t in chosen:
        ours = np.fromfile(os.path.join(work, t.name + ".f32"), dtype=np.float32)
        os.remove(os.path.join(work, t.name + ".f32"))
        data = t.data.reshape(-1, t.data.shape[-1]) if t.data.ndim > 1 else t.data.reshape(1, -1)
        data = data[: rows[t.name]] if len(t.shape) > 1 else data
        theirs = gguf.quants.dequantize(data, t.tensor_type).astype(np.float32).reshape(-1)
        if theirs.size != ours.size:
            results.append((t, ours.size, -1, -1))
            continue
        a, b = ours.view(np.int32), theirs.view(np.int32)
        diff = a != b
        ulps = int(np.max(np.abs(a[diff].astype(np.int64) - b[diff].astype(np.int64)))) if diff.any() else 0
        results.append((t, ours.size, int(diff.sum()), ulps))
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tool", required=True, help="fathom's gguf_dequant binary")
    ap.add_argument("--work", required=True, help="scratch folder for the dumps")
    ap.add_argument("--per-type", type=int, default=3)
    ap.add_argument("--rows", type=int, default=4096)
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    bad = 0
    for path in args.files:
        for t, n, mismatches, ulps in compare(args.tool, path, args.work, args.per_type, args.rows):
            verdict = "bit-exact" if mismatches == 0 else (
                "SIZE MISMATCH" if mismatches < 0 else f"{mismatches} differ, max {ulps} ulp")
            bad += mismatches != 0
            print(f"{os.path.basename(path)}  {t.name:32s} {t.tensor_type.name:6s} "
                  f"{n:>10d} values  {verdict}")
    print("dequantization: all bit-exact" if bad == 0 else f"dequantization: {bad} tensors differ")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
