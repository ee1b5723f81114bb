#!/usr/bin/env node
// Differential-test input: seeded random byte strings (mixed scripts, whitespace runs, emoji
// sequences, digits, special-token text, invalid UTF-8) encoded with each real tokenizer by two
// references: the Hugging Face Rust tokenizers 0.23 (npm "tokenizers") and transformers.js
// (@lenml/tokenizers). tokenizer_differential_test compares fathom with both.
//
//   node gen_differential.cjs --tokenizers DIR --out DIR [--count N] [--seed S]
//
// Invalid UTF-8 reaches the references through TextDecoder (U+FFFD per maximal subpart), which
// is also what fathom does with invalid bytes. Cases with U+0085 or U+FEFF are compared with the
// Rust tokenizers only ("js": false): JavaScript's \s and Rust/Oniguruma's \s disagree on them.
'use strict';
const fs = require('fs');
const path = require('path');
const { TokenizerLoader } = require(path.join(__dirname, 'node_modules/@lenml/tokenizers'));
const hf = require(path.join(__dirname, 'node_modules/tokenizers'));

function arg(name, fallback) {
  const i = process.argv.indexOf('--' + name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

// mulberry32: small, seeded, reproducible.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const enc = new TextEncoder();
const POOLS = [
  'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', '0123456789', '0123456789.,-+%$',
  ' ', '  ', '\t', '\n', '\r\n', '\u00a0', '\u3000', '\u2003', '\u200b',
  '!@#$%^&*()_+-=[]{};:\'",.<>/?\\|`~', '的一是不了人我在有他这为之大来以个中上们部署模型', 'あいうえおカキクケコーン',
  '가나다라마바사한국어', 'абвгдежзПривет', 'αβγδεΓειά', 'مرحبابالعالم', 'नमस्तेदुनिया', 'สวัสดีชาวโลก',
  'éèêëçñøåßİıǅ', 'e\u0301a\u0308o\u0302', 'ＦＵＬＬ１２３', 'Ⅷ½²∑∞≠√', '𝄞𝔘𠀋',
  'a\u0085\ufeff b\u0085\u0085 ',  // Rust-only: the two references disagree here
];
const JS_DISAGREES = /[\u0085\ufeff]/;
const WORDS = [
  "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", 'don\'t', 'Hello', ' world', 'deepseek', 'tokenizer',
  '😀', '👍🏽', '👨‍👩‍👧‍👦', '🇨🇳🇺🇸', '❤️', '1️⃣', '🚀🚀', '🏳️‍🌈',
  '<|im_start|>', '<|im_end|>', '<|endoftext|>', '<|im_', '<｜begin▁of▁sentence｜>', '<｜end▁of▁sentence｜>',
  '<｜User｜>', '<｜Assistant｜>', '<｜tool▁calls▁begin｜>', '<｜', '<|begin_of_text|>', '<|eot_id|>',
  '<|start_header_id|>', '<think>', '</think>', '<tool_call>', '<|fim_prefix|>', '<｜fim▁hole｜>',
  '123456789012', '3.14159', '2025-08-05', 'https://example.com/a?b=1', 'def f(x):\n    return x\n',
  '    ', '\n\n\n', ' \n ', '\t\t', '   x',
];
const INVALID = [[0x80], [0xbf], [0xc3], [0xe4, 0xb8], [0xf0, 0x9f], [0xf0, 0x9f, 0x98], [0xff], [0xfe],
                 [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe0, 0x80]];

function randomCase(r) {
  const parts = [];
  const n = 1 + Math.floor(r() * 12);
  for (let i = 0; i < n; i++) {
    const kind = r();
    if (kind < 0.55) {
      const pool = Array.from(POOLS[Math.floor(r() * POOLS.length)]);
      const len = 1 + Math.floor(r() * 10);
      let s = '';
      for (let k = 0; k < len; k++) s += pool[Math.floor(r() * pool.length)];
      parts.push(enc.encode(s));
    } else if (kind < 0.9) {
      parts.push(enc.encode(WORDS[Math.floor(r() * WORDS.length)]));
    } else {
      parts.push(Uint8Array.from(INVALID[Math.floor(r() * INVALID.length)]));
    }
  }
  const total = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

async function main() {
  const dir = arg('tokenizers');
  const out = arg('out');
  const count = parseInt(arg('count', '3000'), 10);
  const seed = parseInt(arg('seed', '20261128'), 10);
  if (!dir || !out) throw new Error('usage: --tokenizers DIR --out DIR [--count N] [--seed S]');
  fs.mkdirSync(out, { recursive: true });
  const r = rng(seed);
  const inputs = [];
  for (let i = 0; i < count; i++) inputs.push(randomCase(r));
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });  // keep a leading U+FEFF, like Python
  for (const name of ['deepseek_v3', 'qwen3', 'llama3_1']) {
    const tdir = path.join(dir, name);
    const tok = TokenizerLoader.fromPreTrained({
      tokenizerJSON: JSON.parse(fs.readFileSync(path.join(tdir, 'tokenizer.json'), 'utf8')),
      tokenizerConfig: JSON.parse(fs.readFileSync(path.join(tdir, 'tokenizer_config.json'), 'utf8')),
    });
    const rust = hf.Tokenizer.fromFile(path.join(tdir, 'tokenizer.json'));
    const cases = [];
    for (const bytes of inputs) {
      const text = decoder.decode(bytes);
      const c = {
        hex: Buffer.from(bytes).toString('hex'),
        rust: (await rust.encode(text, null, { addSpecialTokens: false })).getIds(),
        rust_special: (await rust.encode(text, null, { addSpecialTokens: true })).getIds(),
        js: !JS_DISAGREES.test(text),
      };
      if (c.js) {
        c.ids = tok.encode(text, { add_special_tokens: false });
        c.ids_special = tok.encode(text, { add_special_tokens: true });
      }
      cases.push(c);
    }
    // Random id sequences (split characters, special tokens) decoded by the Rust tokenizers.
    const vocabSize = rust.getVocabSize(true);
    const decodes = [];
    for (let i = 0; i < Math.max(100, count / 6); i++) {
      const ids = Array.from({ length: 1 + Math.floor(r() * 30) }, () => Math.floor(r() * vocabSize));
      decodes.push({ ids, text: await rust.decode(ids, false), text_skip: await rust.decode(ids, true) });
    }
    fs.writeFileSync(path.join(out, name + '.json'),
                     JSON.stringify({ tokenizer: name, references: ['tokenizers 0.23.2', '@lenml/tokenizers 3.7.2'],
                                      seed, cases, decodes }));
    console.log(`gen_differential: ${name}: ${cases.length} cases`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
