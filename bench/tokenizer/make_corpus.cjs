#!/usr/bin/env node
// Writes the tokenizer benchmark corpus: seeded, mixed-script documents (English prose, Chinese,
// Japanese, Korean, Russian, code, numbers, emoji, whitespace runs) with Zipf-distributed words,
// so caches behave as on real text. One document per line, JSON-encoded.
//
//   node make_corpus.cjs OUT_FILE [SIZE_MB]
'use strict';
const fs = require('fs');

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
const r = rng(7);
const pick = (arr) => arr[Math.floor(r() * arr.length)];

// A Zipf-distributed vocabulary of made-up words per script.
function vocabulary(alphabet, size, minLen, maxLen) {
  const chars = Array.from(alphabet);
  const words = [];
  for (let i = 0; i < size; i++) {
    const len = minLen + Math.floor(r() * (maxLen - minLen + 1));
    let w = '';
    for (let k = 0; k < len; k++) w += pick(chars);
    words.push(w);
  }
  const weights = words.map((_, i) => 1 / (i + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const cdf = [];
  let acc = 0;
  for (const w of weights) cdf.push((acc += w / total));
  return () => {
    const x = r();
    let lo = 0, hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < x) lo = mid + 1; else hi = mid;
    }
    return words[lo];
  };
}

// Real English words (most frequent first), then made-up ones for the long tail.
const COMMON = ('the of and to a in is it you that he was for on are with as I his they be at one have this ' +
  'from or had by hot word but what some we can out other were all there when up use your how said an each ' +
  'she which do their time if will way about many then them write would like so these her long make thing ' +
  'see him two has look more day could go come did number sound no most people my over know water than call ' +
  'first who may down side been now find any new work part take get place made live where after back little ' +
  'only round man year came show every good me give our under name very through just form sentence great ' +
  'think say help low line differ turn cause much mean before move right boy old too same tell does set three ' +
  'want air well also play small end put home read hand port large spell add even land here must big high such ' +
  'model server request token latency throughput deployment cluster memory GPU inference batch cache').split(' ');
const madeUp = vocabulary('etaoinshrdlucmfwypvbgkjqxz', 3000, 3, 10);
const english = () => (r() < 0.85 ? COMMON[Math.floor(COMMON.length * Math.pow(r(), 2.5))] : madeUp());
const chinese = vocabulary('的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可你年生自会那后能对着事其里所去行过家十用发天如然作方成者多日都三小军二无同么经法当起与好看学进种将还分此心前面又定见只主没公从部署模型推理服务', 3000, 1, 4);
const japanese = vocabulary('あいうえおかきくけこさしすせそたちつてとなにぬねのアイウエオカキクケコサシスセソ', 2000, 2, 6);
const korean = vocabulary('가나다라마바사아자차카타파하한국어문장입니다서비스', 1500, 1, 4);
const russian = vocabulary('абвгдежзийклмнопрстуфхцчшщыэюя', 2000, 2, 10);
const code = ['def ', 'return ', 'int ', 'for (int i = 0; i < n; ++i) {', '}', '    ', '\t', 'std::vector<float>',
              'self.', '=', '==', '(x)', '[0]', '->', '#include <cstdio>', 'if err != nil {', '// note', 'None'];
const emoji = ['😀', '👍🏽', '👨‍👩‍👧', '🇨🇳', '❤️', '🚀', '✨', '🔥'];

function sentence() {
  const kind = r();
  const n = 4 + Math.floor(r() * 20);
  const parts = [];
  if (kind < 0.45) {
    for (let i = 0; i < n; i++) parts.push(english());
    let s = parts.join(' ');
    s = s[0].toUpperCase() + s.slice(1);
    if (r() < 0.2) s += ' ' + Math.floor(r() * 100000);
    return s + pick(['.', '.', '?', '!', ',', ':']);
  }
  if (kind < 0.65) return Array.from({ length: n }, chinese).join('') + pick(['。', '，', '！', '？']);
  if (kind < 0.72) return Array.from({ length: n }, japanese).join('') + '。';
  if (kind < 0.77) return Array.from({ length: n }, korean).join(' ') + '.';
  if (kind < 0.84) return Array.from({ length: n }, russian).join(' ') + '.';
  if (kind < 0.95) return Array.from({ length: n }, () => pick(code)).join(' ') + '\n';
  return Array.from({ length: 3 }, () => pick(emoji)).join('') + ' ' + english();
}

const out = process.argv[2];
const sizeMb = parseFloat(process.argv[3] || '4');
const docs = [];
let bytes = 0;
while (bytes < sizeMb * 1e6) {
  const len = 2 + Math.floor(r() * 30);
  let doc = '';
  for (let i = 0; i < len; i++) doc += sentence() + (r() < 0.15 ? '\n\n' : ' ');
  docs.push(JSON.stringify(doc));
  bytes += Buffer.byteLength(doc);
}
fs.writeFileSync(out, docs.join('\n') + '\n');
console.log(`make_corpus: ${docs.length} documents, ${(bytes / 1e6).toFixed(2)} MB -> ${out}`);
