// Audit log rotation through the real gateway and CLI: past `audit_rotation.max_bytes` the log
// is rotated, the rotated files stay in the hash chain (`fathom audit verify` walks them all,
// with `fathom keys create` appending from another process meanwhile), and a rotated file
// removed by hand is caught. Retention under the 180-day floor is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fathomBin, repoRoot } from './lib/server.mjs';
import { fathom, Gateway } from './lib/gateway.mjs';

const dir = mkdtempSync(path.join(os.tmpdir(), 'fathom-audit-rot-'));
const data = path.join(dir, 'data');
const auditPath = path.join(data, 'audit.jsonl');
let gateway, cfg;

const config = (rotation) => `
listen: {host: 127.0.0.1, port: 0}
data_dir: ${data}
pools: {p: {upstreams: [{url: "http://127.0.0.1:9"}]}}
models: [{name: m, pool: p}]
audit_rotation: ${rotation}
`;
const rotated = () => readdirSync(data).filter((f) => /^audit\.jsonl\.\d{8}T\d{6}\.\d{3}Z/.test(f)).sort();
const records = () => [...rotated().map((f) => path.join(data, f)), auditPath]
  .flatMap((f) => readFileSync(f, 'utf8').split('\n').filter((l) => l.endsWith('}')).map((l) => JSON.parse(l)));
const verify = () => spawnSync(fathomBin, ['audit', 'verify', auditPath], { cwd: repoRoot, encoding: 'utf8' });

before(async () => {
  cfg = path.join(dir, 'gw.yaml');
  writeFileSync(cfg, config('{max_bytes: 2000, retain_days: 180}'));
  fathom('keys', 'create', '--config', cfg, '--tenant', 'acme');
  gateway = await Gateway.start(cfg);
});
after(async () => {
  await gateway?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('rotated files stay in one chain across the gateway and the CLI', async () => {
  for (let i = 0; i < 30; ++i) {
    const r = await gateway.post('/v1/chat/completions', { model: 'm', messages: [{ role: 'user', content: 'hi' }] }, `sk-wrong-${i}`);
    assert.equal(r.status, 401);
    if (i === 15) fathom('keys', 'create', '--config', cfg, '--tenant', 'beta');  // another process appends
  }
  // The gateway's writer thread appends shortly after the answers: wait (bounded).
  let failed = 0;
  for (let i = 0; i < 500 && failed < 30; ++i) {
    failed = records().filter((r) => r.event === 'auth.failed').length;
    if (failed < 30) await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(failed, 30);
  assert.ok(rotated().length >= 2, `rotated: ${rotated()}`);
  assert.equal(records().filter((r) => r.event === 'key.created').length, 2);
  const ok = verify();
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, new RegExp(`in ${rotated().length + 1} file\\(s\\), seq 0\\.\\..*chain intact`));

  const oldest = path.join(data, rotated()[0]);
  const saved = readFileSync(oldest);
  rmSync(oldest);
  const cut = verify();
  assert.notEqual(cut.status, 0);
  assert.match(cut.stderr + cut.stdout, /no audit\.pruned record accounts for the records before it/);
  writeFileSync(oldest, saved);
  assert.equal(verify().status, 0);
});

test('a retention under the 180-day floor is refused at start', () => {
  const bad = path.join(dir, 'bad.yaml');
  writeFileSync(bad, config('{retain_days: 90}'));
  const r = spawnSync(fathomBin, ['gateway', '--config', bad, '--port', '0'], { cwd: repoRoot, encoding: 'utf8', timeout: 20000 });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr + r.stdout, /audit_rotation\.retain_days: must be 0 .* or at least 180 days/);
});
