// `fathom quantize --method q4_k_m` as a user runs it: an importance matrix computed over
// calibration text and saved in llama.cpp's .dat format, read back by a second run, the GGUF
// served by `fathom serve --model FILE.gguf` (one chat request through the official client),
// and bad inputs (method, flags, unreadable or lying imatrix files) named in the error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { fathomBin, modelsDir, repoRoot, startServer } from './lib/server.mjs';

const work = mkdtempSync(path.join(os.tmpdir(), 'fathom-kquant-e2e-'));
after(() => rmSync(work, { recursive: true, force: true }));
const base = path.join(modelsDir, 'qwen2');
const calib = path.join(repoRoot, 'docs/architecture.md');
const gguf = path.join(work, 'qwen2-q4_k_m.gguf');
const imatrix = path.join(work, 'imatrix.dat');

const run = (...args) => spawnSync(fathomBin, args, { cwd: repoRoot, encoding: 'utf8', timeout: 300000 });

before(() => {
  const r = run('quantize', '--model', base, '--out', gguf, '--method', 'q4_k_m', '--calibration', calib,
    '--imatrix-out', imatrix, '--ctx', '128', '--samples', '8');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /quantized to q4_k_m in .* s \(.*Q5_0.*; imatrix of 14 weights over 8 chunks\)/);
  assert.match(r.stderr, /imatrix \[/);  // the calibration progress bar
});

test('the saved imatrix is read back by a second run', () => {
  assert.ok(statSync(imatrix).size > 14 * 64 * 4);
  const again = path.join(work, 'again.gguf');
  const r = run('quantize', '--model', base, '--out', again, '--method', 'q4_k_m', '--imatrix', imatrix);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /imatrix of 14 weights over 8 chunks/);
  assert.equal(statSync(again).size, statSync(gguf).size);
});

test('serve --model FILE.gguf answers a chat request', async () => {
  const server = await startServer({ model: gguf, args: ['--served-model-name', 'm'] });
  try {
    const client = new OpenAI({ baseURL: server.url + '/v1', apiKey: 'unused', maxRetries: 0 });
    const r = await client.chat.completions.create({
      model: 'm', messages: [{ role: 'user', content: 'What is the capital of France?' }], max_tokens: 8, temperature: 0,
    });
    assert.ok(['length', 'stop'].includes(r.choices[0].finish_reason));
    assert.ok(r.usage.prompt_tokens > 5 && r.usage.completion_tokens >= 1, JSON.stringify(r.usage));
    assert.match(server.log, /loaded Qwen2ForCausalLM from .*qwen2-q4_k_m\.gguf/);
  } finally {
    assert.equal(await server.stop(), 0);
  }
});

test('bad inputs are named', () => {
  const out = path.join(work, 'never.gguf');
  const lying = path.join(work, 'lying.dat');
  writeFileSync(lying, Buffer.concat([Buffer.from([1, 0, 0, 0, 0xff, 0xff, 0, 0]), Buffer.alloc(20, 65)]));
  const cases = [
    [['--method', 'q3_k_m'], /--method: 'q3_k_m' is not one of .*q4_k_m, q5_k_m, q6_k, q8_0/],
    [['--method', 'q4_k_m', '--bits', '4'], /--bits: not an option of --method q4_k_m/],
    [['--method', 'q4_k_m', '--imatrix', path.join(work, 'missing.dat')], /--imatrix: cannot open/],
    [['--method', 'q4_k_m', '--imatrix', lying], /--imatrix: .*lying\.dat: imatrix: entry 0 name needs 65535 bytes/],
    [['--method', 'q4_k_m', '--imatrix', imatrix, '--calibration', calib], /either --imatrix or --calibration/],
    [['--method', 'q4_k_m', '--imatrix-out', imatrix], /--imatrix-out: needs --calibration/],
    [['--method', 'gptq', '--imatrix', imatrix], /--imatrix: only for the GGUF methods/],
    [['--method', 'q8_0', '--calibration', calib, '--ctx', '100000'], /do not fill one window/],
  ];
  for (const [args, pattern] of cases) {
    const r = run('quantize', '--model', base, '--out', out, ...args);
    assert.notEqual(r.status, 0, args.join(' '));
    assert.match(r.stderr, pattern, args.join(' '));
  }
});
