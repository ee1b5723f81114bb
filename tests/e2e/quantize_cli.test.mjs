// `fathom quantize`, `fathom perplexity` and `fathom prune` as a user runs them: bad flags fail
// with a message naming the flag; a GPTQ model made from the qwen2 fixture reports its KL
// divergence against the float model and is served by `fathom serve`, as is a width-pruned one.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fathomBin, modelsDir, repoRoot, startServer } from './lib/server.mjs';

const work = mkdtempSync(path.join(os.tmpdir(), 'fathom-quantize-e2e-'));
after(() => rmSync(work, { recursive: true, force: true }));
const base = path.join(modelsDir, 'qwen2');
const calib = path.join(repoRoot, 'docs/architecture.md');
const heldOut = path.join(repoRoot, 'docs/life-of-a-request.md');

function run(args) {
  const r = spawnSync(fathomBin, args, { cwd: repoRoot, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('bad flags fail with a message naming the flag', () => {
  const out = path.join(work, 'never');
  const cases = [
    [['quantize', '--out', out, '--method', 'gptq'], /--model/],
    [['quantize', '--model', base, '--out', out, '--method', 'k-quants'], /--method: 'k-quants'/],
    [['quantize', '--model', base, '--out', out, '--method', 'rtn', '--bits', '3'], /--bits: 3/],
    [['quantize', '--model', base, '--out', out, '--method', 'rtn', '--group-size', '0'], /--group-size/],
    [['quantize', '--model', base, '--out', out, '--method', 'rtn', '--group-size', '48'], /does not divide/],
    [['quantize', '--model', base, '--out', out, '--method', 'gptq', '--group-size', '32'], /--calib: required/],
    [['quantize', '--model', base, '--out', out, '--method', 'gptq', '--calib', calib, '--samples', '0'], /--samples/],
    [['quantize', '--model', base, '--out', out, '--method', 'gptq', '--calib', '/nonexistent'], /--calib: cannot read/],
    [['quantize', '--model', base, '--out', out, '--method', 'awq', '--group-size', '32', '--calib', calib, '--ctx', '100000'], /do not fill one window/],
    [['quantize', '--model', path.join(modelsDir, 'qwen2_gptq'), '--out', out, '--method', 'rtn'], /already quantized/],
    [['quantize', '--model', base, '--out', out, '--method', 'rtn', '--bogus', '1'], /bogus/],
    [['perplexity', '--model', base], /--text/],
    [['perplexity', '--model', base, '--text', heldOut, '--ctx', '1'], /--ctx/],
    [['perplexity', '--model', base, '--text', heldOut, '--ctx', '100000'], /--ctx/],
    [['prune', '--model', base, '--out', out, '--method', 'magnitude', '--pattern', '3:4'], /--pattern: '3:4'/],
    [['prune', '--model', base, '--out', out, '--method', 'magnitude', '--sparsity', '2'], /--sparsity/],
    [['prune', '--model', base, '--out', out, '--method', 'wanda'], /--calib: required/],
    [['prune', '--model', base, '--out', out, '--structured', '--pattern', '2:4'], /--structured/],
  ];
  for (const [args, message] of cases) {
    const r = run(args);
    assert.equal(r.code, 1, `${args.join(' ')} should fail:\n${r.stdout}${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
  }
});

function quality(report) {
  const num = (re) => Number(report.match(re)[1]);
  return { kl: num(/mean KL divergence \(base \|\| model\): ([0-9.]+)/), top1: num(/top-1 agreement: ([0-9.]+)%/),
    ppl: num(/^perplexity: ([0-9.]+)/m) };
}

test('a GPTQ model made by fathom quantize is measured and served', async () => {
  const out = path.join(work, 'gptq');
  const q = run(['quantize', '--model', base, '--out', out, '--method', 'gptq', '--group-size', '32',
    '--act-order', '--calib', calib, '--ctx', '64', '--samples', '16']);
  assert.equal(q.code, 0, q.stderr);
  assert.match(q.stdout, /quantized 14 linear layers with gptq/);
  assert.match(q.stderr, /calibration 1\/1 \[#+\] 16\/16/);
  const cfg = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
  assert.equal(cfg.quantization_config.quant_method, 'gptq');
  assert.equal(cfg.quantization_config.desc_act, true);

  const p = run(['perplexity', '--model', out, '--base', base, '--text', heldOut, '--ctx', '64']);
  assert.equal(p.code, 0, p.stderr);
  const r = quality(p.stdout);
  assert.ok(r.kl > 0 && r.kl < 1, p.stdout);
  assert.ok(r.top1 > 50, p.stdout);
  assert.ok(r.ppl > 1, p.stdout);

  const server = await startServer({ model: out });
  try {
    const res = await server.post('/v1/completions', { prompt: 'hello', max_tokens: 4, temperature: 0 });
    assert.equal(res.status, 200);
    assert.equal(res.json.usage.completion_tokens, 4);
  } finally {
    await server.stop();
  }
});

test('a width-pruned model has a consistent config and is served', async () => {
  const out = path.join(work, 'pruned');
  const r = run(['prune', '--model', base, '--out', out, '--structured', '--mlp-keep', '0.5',
    '--heads-keep', '0.5', '--calib', calib, '--ctx', '64', '--samples', '8']);
  assert.equal(r.code, 0, r.stderr);
  const cfg = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
  assert.deepEqual([cfg.intermediate_size, cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim], [80, 2, 1, 16]);
  const server = await startServer({ model: out });
  try {
    const res = await server.post('/v1/completions', { prompt: 'hello', max_tokens: 4, temperature: 0 });
    assert.equal(res.status, 200);
  } finally {
    await server.stop();
  }
});
