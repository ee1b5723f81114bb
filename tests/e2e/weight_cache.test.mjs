// The weight cache on the real binary: the first `fathom serve --quantization int8` of a
// checkpoint quantizes and writes the cache beside it, the second maps it (the load log line
// says which), both answer the same greedy completion, and --no-weight-cache leaves it alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { modelsDir, startServer } from './lib/server.mjs';

async function completion(model, args) {
  const server = await startServer({ model, args: ['--quantization', 'int8', ...args], weightCache: true });
  try {
    const r = await server.post('/v1/completions', {
      model: path.basename(model), prompt: 'hello there', max_tokens: 8, temperature: 0,
    });
    assert.equal(r.status, 200, r.text);
    return { log: server.log, text: r.json.choices[0].text };
  } finally {
    assert.equal(await server.stop(), 0);
  }
}

test('the second start maps the cache the first wrote and answers the same', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fathom-weight-cache-'));
  try {
    const model = path.join(dir, 'qwen2');
    // Without the fixture's own cache, which other tests' servers may have written.
    fs.cpSync(path.join(modelsDir, 'qwen2'), model,
      { recursive: true, filter: (src) => path.basename(src) !== '.fathom-cache' });
    const cacheFile = path.join(model, '.fathom-cache', 'weights-int8.fwc');

    const off = await completion(model, ['--no-weight-cache']);
    assert.match(off.log, /weight cache off/);
    assert.ok(!fs.existsSync(cacheFile), '--no-weight-cache wrote a cache file');

    const first = await completion(model, []);
    assert.match(first.log, /weight cache miss \(no cache file\).*wrote .*weights-int8\.fwc/);
    assert.ok(fs.statSync(cacheFile).size > 0);

    const second = await completion(model, []);
    assert.match(second.log, /weight cache hit: .*weights-int8\.fwc \(\d+ weights/);
    assert.equal(second.text, first.text);
    assert.equal(first.text, off.text);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
