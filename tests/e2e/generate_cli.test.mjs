// `fathom generate --ids` on every fixture model: the greedy tokens it prints equal the Hugging
// Face reference's (reference.json), for both reference prompts. The arm64 preset runs this file
// with the cross-built binary under qemu-aarch64 (FATHOM_EMULATOR), so the aarch64 and x86 builds
// are held to the same tokens (docs/edge.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { fathomCommand, modelsDir, repoRoot } from './lib/server.mjs';

const run = promisify(execFile);

const fixtures = readdirSync(modelsDir)
  .filter((name) => existsSync(path.join(modelsDir, name, 'reference.json')))
  .map((name) => ({ name, ref: JSON.parse(readFileSync(path.join(modelsDir, name, 'reference.json'), 'utf8')) }))
  .filter(({ ref }) => ref.greedy && Array.isArray(ref.prompts));

test('there are fixture models with greedy references', () => {
  assert.ok(fixtures.length >= 10, `found ${fixtures.map((f) => f.name)}`);
});

async function generate(name, ids, maxTokens) {
  const argv = ['generate', '--model', path.join(modelsDir, name), '--ids', ids.join(','),
    '--max-tokens', String(maxTokens), '--ignore-eos'];
  const { stdout, stderr } = await run(...fathomCommand(argv), { cwd: repoRoot, timeout: 120000 });
  return { ids: stdout.trim().split(',').map(Number), stderr };
}

for (const { name, ref } of fixtures) {
  test(`${name}: fathom generate prints the reference's greedy tokens`, async () => {
    const keys = Object.keys(ref.greedy);
    assert.ok(keys.length > 0);
    // The prompts run as separate processes side by side.
    await Promise.all(keys.map(async (key) => {
      const want = ref.greedy[key];
      const prompt = ref.prompts[Number(key.slice(1))];  // "p2" is prompts[2]
      const got = await generate(name, prompt, want.length);
      assert.deepEqual(got.ids, want, `${name} ${key}`);
      assert.match(got.stderr, new RegExp(`${want.length} tokens, finish: length`));
    }));
  });
}
