#!/usr/bin/env node
// The references beside fathom, on the same corpus and documents as tokenizer_bench:
//   - "tokenizers (Rust)": Hugging Face tokenizers 0.23 (npm "tokenizers" node binding), all
//     documents in one encodeBatch call with RAYON_NUM_THREADS=1, i.e. one thread and no
//     per-call JavaScript overhead;
//   - "transformers.js": @lenml/tokenizers 3.7.2, one encode call per document.
//
//   RAYON_NUM_THREADS=1 node bench_references.cjs TOKENIZERS_DIR CORPUS [REPEATS]
'use strict';
const fs = require('fs');
const path = require('path');
const nodeModules = path.join(__dirname, '../../tests/tokenizer/node/node_modules');
const { TokenizerLoader } = require(path.join(nodeModules, '@lenml/tokenizers'));
const hf = require(path.join(nodeModules, 'tokenizers'));

async function main() {
  if (process.env.RAYON_NUM_THREADS !== '1') throw new Error('set RAYON_NUM_THREADS=1 (single-thread benchmark)');
  const [dir, corpusPath, repeatsArg] = process.argv.slice(2);
  const repeats = parseInt(repeatsArg || '2', 10);
  const docs = fs.readFileSync(corpusPath, 'utf8').split('\n').filter((l) => l.length).map((l) => JSON.parse(l));
  const mb = docs.reduce((a, d) => a + Buffer.byteLength(d), 0) / 1e6;
  const report = (engine, tokenizer, tokens, seconds) =>
    console.log(JSON.stringify({ engine, tokenizer, mb, tokens, seconds, mb_per_s: mb / seconds }));
  for (const name of ['deepseek_v3', 'qwen3', 'llama3_1']) {
    const tdir = path.join(dir, name);
    const rust = hf.Tokenizer.fromFile(path.join(tdir, 'tokenizer.json'));
    let best = Infinity;
    let tokens = 0;
    for (let rep = 0; rep < repeats; rep++) {
      const t0 = process.hrtime.bigint();
      const encodings = await rust.encodeBatch(docs, { addSpecialTokens: false });
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
      tokens = encodings.reduce((a, e) => a + e.getIds().length, 0);
    }
    report('tokenizers (Rust)', name, tokens, best);

    const js = TokenizerLoader.fromPreTrained({
      tokenizerJSON: JSON.parse(fs.readFileSync(path.join(tdir, 'tokenizer.json'), 'utf8')),
      tokenizerConfig: JSON.parse(fs.readFileSync(path.join(tdir, 'tokenizer_config.json'), 'utf8')),
    });
    best = Infinity;
    for (let rep = 0; rep < repeats; rep++) {
      tokens = 0;
      const t0 = process.hrtime.bigint();
      for (const d of docs) tokens += js.encode(d, { add_special_tokens: false }).length;
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
    }
    report('transformers.js', name, tokens, best);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
