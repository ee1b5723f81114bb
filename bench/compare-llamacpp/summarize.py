#!/usr/bin/env python3
"""Check (c)'s table: reads the llama-bench and `fathom bench model` JSON files run.sh wrote to
OUT/speed/ and prints pp512 / tg128 tokens/s of each fathom run beside the llama.cpp run it is
paired with, as ratios (fathom / llama.cpp; above 1 means fathom is faster).

  summarize.py OUT/speed    (files: llama-<gguf>.json, fathom-<run>.json, pairs.txt)
"""
import json
import os
import sys


def llama_rates(path):
    rates = {}
    for row in json.load(open(path)):
        test = f"pp{row['n_prompt']}" if row["n_gen"] == 0 else f"tg{row['n_gen']}"
        rates[test] = row["avg_ts"]
    return rates


def fathom_rates(path):
    return {r["test"]: r["tokens_per_s"] for r in json.load(open(path))["results"] if r["batch"] == 1}


def main():
    d = sys.argv[1]
    rows = []
    for line in open(os.path.join(d, "pairs.txt")):
        if not line.strip():
            continue
        run, llama, desc = line.rstrip("\n").split("\t")
        f_path, l_path = os.path.join(d, f"fathom-{run}.json"), os.path.join(d, f"llama-{llama}.json")
        if not (os.path.exists(f_path) and os.path.exists(l_path)):
            print(f"{run}: missing {f_path if not os.path.exists(f_path) else l_path}")
            continue
        f, l = fathom_rates(f_path), llama_rates(l_path)
        for test in sorted(set(f) & set(l)):
            rows.append((desc, llama, test, f[test], l[test], f[test] / l[test]))
    print(f"{'fathom run':44s} {'llama.cpp':8s} {'test':6s} {'fathom t/s':>10s} {'llama t/s':>10s} {'ratio':>6s}")
    for desc, llama, test, fv, lv, ratio in rows:
        print(f"{desc:44s} {llama:8s} {test:6s} {fv:10.2f} {lv:10.2f} {ratio:6.2f}")


if __name__ == "__main__":
    main()
