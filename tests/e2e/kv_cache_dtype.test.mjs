// --kv-cache-dtype on the real binaries: `auto` (the default) keeps a bf16 checkpoint's cache in bf16, fp8
// and float32 serve answers, a bad value is refused with a message naming the flag, and
// `fathom bench model` reports the cache's bytes per token for each dtype.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fathomBin, modelsDir, repoRoot, startServer } from './lib/server.mjs';

const run = (...args) => spawnSync(fathomBin, args, { cwd: repoRoot, encoding: 'utf8', timeout: 60000 });

for (const [flag, stored] of [['auto', 'bf16'], ['fp8', 'fp8'], ['float32', 'float32']]) {
  test(`--kv-cache-dtype ${flag} stores ${stored} and answers`, async () => {
    const server = await startServer({ model: 'qwen2', args: ['--kv-cache-dtype', flag] });
    try {
      assert.match(server.log, new RegExp(`KV cache: .*, dtype ${stored}\n`));
      const r = await server.post('/v1/chat/completions', {
        model: 'qwen2', messages: [{ role: 'user', content: 'hello there' }], max_tokens: 6, temperature: 0,
      });
      assert.equal(r.status, 200, r.text);
      assert.ok(r.json.usage.completion_tokens >= 1, r.text);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });
}

test('a bad --kv-cache-dtype is refused by serve and bench model, naming the flag', () => {
  for (const bad of ['fp16', 'FP8']) {
    const r = run('serve', '--port', '0', '--model', path.join(modelsDir, 'qwen2'), '--kv-cache-dtype', bad);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, new RegExp(`--kv-cache-dtype: '${bad}' is not one of auto, float32, bf16, fp8`));
  }
  const b = run('bench', 'model', '--model', path.join(modelsDir, 'llama'), '--kv-cache-dtype', 'int8');
  assert.notEqual(b.status, 0);
  assert.match(b.stderr, /--kv-cache-dtype: 'int8' is not one of/);
});

test('fathom bench model --kv-cache-dtype reports the cache bytes per token', () => {
  const per = {};
  for (const dtype of ['float32', 'bf16', 'fp8', null]) {
    const flag = dtype ? ['--kv-cache-dtype', dtype] : [];  // none: auto, bf16 for this checkpoint
    const r = run('bench', 'model', '--model', path.join(modelsDir, 'deepseek_v2'), '-p', '8', '-n', '2', '-t', '1',
      ...flag, '--json');
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.kv_cache_dtype, dtype ?? 'bf16');
    if (!dtype) continue;
    assert.ok(j.results.every((x) => x.tokens_per_s > 0), r.stdout);
    per[dtype] = j.kv_bytes_per_token;
  }
  assert.ok(per.fp8 > 0, JSON.stringify(per));
  assert.equal(per.bf16, 2 * per.fp8);
  assert.equal(per.float32, 4 * per.fp8);
});
