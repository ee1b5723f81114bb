#!/usr/bin/env python3
"""Check (b): greedy agreement of fathom and llama.cpp on the same weights and prompt ids.

For each PAIR "LABEL=FATHOM_MODEL=GGUF" runs `fathom generate --ids P --max-tokens N --ignore-eos`
on FATHOM_MODEL (a Hugging Face folder or a GGUF file) and llama-server on GGUF (/completion with
the prompt as token ids, temperature 0, n_probs), and prints how many of the N tokens agree. At
the first divergence it prints each engine's logit margin there: fathom's (from `fathom logits`
on the prompt and fathom's tokens) between its token and llama.cpp's, and llama.cpp's (from its
log-probabilities, which differ from logits by one constant per position) between its token and
fathom's. Random weights give near-uniform logits, so a divergence at a margin of a few 1e-3
is rounding, not a bug.

  PYTHONPATH=/work/llama.cpp/gguf-py /usr/bin/python3 check_greedy.py --fathom build/dev/fathom \
      --llama-server /work/llama.cpp/build/bin/llama-server -n 32 --work DIR \
      bf16-hf=/path/hf=/path/bf16.gguf q8_0=/path/q8_0.gguf=/path/q8_0.gguf
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import time
import urllib.request

import numpy as np

# A fixed prompt: 16 ids spread over the vocabulary below 100000 (valid for both benchmark shapes).
PROMPT = [9707, 11, 1879, 0, 3555, 374, 279, 6722, 315, 9625, 30, 576, 4226, 374, 220, 17]


def fathom_greedy(fathom, model, prompt, n):
    out = subprocess.run([fathom, "generate", "--model", model, "--ids", ",".join(map(str, prompt)),
                          "--max-tokens", str(n), "--ignore-eos"],
                         check=True, capture_output=True, text=True).stdout.strip()
    return [int(x) for x in out.split(",")]


def fathom_logits(fathom, model, ids, work):
    path = os.path.join(work, "logits.safetensors")
    subprocess.run([fathom, "logits", "--model", model, "--ids", ",".join(map(str, ids)),
                    "--out", path], check=True, capture_output=True)
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        info = json.loads(f.read(n))["logits"]
        data = np.frombuffer(f.read(), dtype=np.float32)
    b, e = info["data_offsets"]
    os.remove(path)
    return data[b // 4: e // 4].reshape(info["shape"])


class LlamaServer:
    def __init__(self, binary, gguf, port, threads, log):
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen([binary, "-m", gguf, "-t", str(threads), "-c", "4096", "-np", "1",
                                      "--host", "127.0.0.1", "--port", str(port)],
                                     stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 600
        while time.time() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"llama-server exited with {self.proc.returncode} on {gguf} (see its log)")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(1)
        sys.exit(f"llama-server did not become healthy on {gguf}")

    def greedy(self, prompt, n):
        body = {"prompt": prompt, "n_predict": n, "temperature": 0, "ignore_eos": True,
                "cache_prompt": False, "n_probs": 10}
        req = urllib.request.Request(self.url + "/completion", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=3600) as r:
            res = json.loads(r.read())
        steps = res["completion_probabilities"]
        return [s["id"] for s in steps], [{p["id"]: p["logprob"] for p in s["top_logprobs"]}
                                          for s in steps]

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fathom", required=True)
    ap.add_argument("--llama-server", required=True)
    ap.add_argument("-n", type=int, default=32, help="greedy tokens per engine")
    ap.add_argument("--work", required=True)
    ap.add_argument("--port", type=int, default=18431)
    ap.add_argument("--threads", type=int, default=1,
                    help="both engines' threads (1: ggml's spinning workers crawl on a loaded machine)")
    ap.add_argument("--json", help="write the results here too")
    ap.add_argument("pairs", nargs="+", metavar="LABEL=FATHOM_MODEL=GGUF")
    args = ap.parse_args()
    os.environ["FATHOM_NUM_THREADS"] = str(args.threads)
    os.makedirs(args.work, exist_ok=True)
    servers, results = {}, []
    log = open(os.path.join(args.work, "llama-server.log"), "ab")
    try:
        for pair in args.pairs:
            label, model, gguf_path = pair.split("=")
            if gguf_path not in servers:
                for s in servers.values():
                    s.stop()
                servers = {gguf_path: LlamaServer(args.llama_server, gguf_path, args.port, args.threads, log)}
            ids_l, logprobs_l = servers[gguf_path].greedy(PROMPT, args.n)
            ids_f = fathom_greedy(args.fathom, model, PROMPT, args.n)
            agree = next((i for i, (a, b) in enumerate(zip(ids_f, ids_l)) if a != b),
                         min(len(ids_f), len(ids_l)))
            r = {"label": label, "fathom_model": model, "gguf": gguf_path, "n": args.n,
                 "agree": agree, "fathom": ids_f, "llama": ids_l}
            line = f"{label:14s} greedy: {agree}/{args.n} tokens agree"
            if agree < args.n:
                lg = fathom_logits(args.fathom, model, PROMPT + ids_f[:agree], args.work)[-1]
                r["fathom_margin"] = float(lg[ids_f[agree]] - lg[ids_l[agree]])
                r["fathom_logit_std"] = float(lg.std())
                lp = logprobs_l[agree]
                r["llama_margin"] = (float(lp[ids_l[agree]] - lp[ids_f[agree]])
                                     if ids_f[agree] in lp else None)
                llama_m = ("%.4g" % r["llama_margin"]) if r["llama_margin"] is not None \
                    else "> top-10"
                line += (f"; first divergence at token {agree} (fathom {ids_f[agree]}, llama.cpp "
                         f"{ids_l[agree]}): fathom's margin {r['fathom_margin']:.4g}, llama.cpp's "
                         f"{llama_m} (the logits' standard deviation there: "
                         f"{r['fathom_logit_std']:.3g})")
            print(line, flush=True)
            results.append(r)
    finally:
        for s in servers.values():
            s.stop()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
