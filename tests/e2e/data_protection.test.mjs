// Data at rest through the real gateway and CLI, with `data_protection` (SM4 suite): key-store
// and ledger rows carry MACs; a key whose row was edited in the database (made an admin key)
// is refused and `fathom keys verify` names it; a ledger row edited to bill no completion tokens is named
// by `fathom billing verify`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, fathomBin, repoRoot } from './lib/server.mjs';
import { fathom, Gateway } from './lib/gateway.mjs';

const dir = mkdtempSync(path.join(os.tmpdir(), 'fathom-dataprot-'));
let upstream, gateway, cfg, key;
const month = new Date().toISOString().slice(0, 7);
const run = (...args) => spawnSync(fathomBin, args, { cwd: repoRoot, encoding: 'utf8' });
const sql = (db, statement) => execFileSync('python3', ['-c',
  'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()', db, statement]);

before(async () => {
  upstream = await startServer({ args: ['--served-model-name', 'tiny'] });
  writeFileSync(path.join(dir, 'data.key'), randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  cfg = path.join(dir, 'gw.yaml');
  writeFileSync(cfg, `
listen: {host: 127.0.0.1, port: 0}
data_dir: ${dir}/data
pools: {p: {upstreams: [{url: ${upstream.url}, model: tiny}]}}
models: [{name: m, pool: p}]
data_protection: {key_file: ${dir}/data.key, suite: sm4}
`);
  key = fathom('keys', 'create', '--config', cfg, '--tenant', 'acme');
  gateway = await Gateway.start(cfg);
});
after(async () => {
  await gateway?.stop();
  await upstream?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const ask = () => gateway.post('/v1/chat/completions', { model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 }, key);

test('ledger rows are sealed; an edited row is named', async () => {
  const r = await ask();
  assert.equal(r.status, 200, r.text);
  const id = r.headers.get('x-request-id');
  let out;
  for (let i = 0; i < 300; ++i) {  // the ledger is written asynchronously
    out = run('billing', 'verify', '--config', cfg, '--month', month);
    if (/ 1 ledger rows sealed/.test(out.stdout)) break;
    await new Promise((res) => setTimeout(res, 20));
  }
  assert.equal(out.status, 0, out.stdout + out.stderr);
  assert.match(out.stdout, /1 ledger rows sealed and intact, 0 unsealed, 0 failing/);
  await gateway.stop();  // the ledger's mover has moved the row into SQLite
  gateway = null;
  sql(path.join(dir, 'data', 'ledger.db'), `update usage set completion_tokens=0 where request_id='${id}'`);
  const doctored = run('billing', 'verify', '--config', cfg, '--month', month);
  assert.equal(doctored.status, 1, doctored.stdout + doctored.stderr);
  assert.match(doctored.stdout, new RegExp(`TAMPERED ${id}`));
});

test('a key whose row was edited in the database is refused and reported', async () => {
  gateway = await Gateway.start(cfg);
  assert.equal((await ask()).status, 200);
  assert.equal(run('keys', 'verify', '--config', cfg).status, 0);
  const id = fathom('keys', 'list', '--config', cfg).split('\n')[1].split(/\s+/)[0];
  sql(path.join(dir, 'data', 'keys.db'), `update api_keys set admin=1 where key_id='${id}'`);
  const r = await ask();
  assert.equal(r.status, 401, r.text);
  assert.match(r.json.error.message, /failed the key store's integrity check/);
  const v = run('keys', 'verify', '--config', cfg);
  assert.equal(v.status, 1);
  assert.match(v.stdout, new RegExp(`TAMPERED ${id}`));
});
