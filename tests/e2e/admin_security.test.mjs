// The admin API's second factor (admin key + TOTP, RFC 6238) and account lockout, through the
// real gateway: calls without the code or with a wrong one are refused, repeated failures lock
// the key (even the right code is refused then), a code is good only once, and each failure is
// in the hash-chained audit log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fathom, Gateway, TOTP_SECRET, totp } from './lib/gateway.mjs';

const dir = mkdtempSync(path.join(os.tmpdir(), 'fathom-admin-'));
const SECRET = TOTP_SECRET;
let gateway, cfg;
const keys = {};

function writeConfig(extra = '') {
  writeFileSync(cfg, `
listen: {host: 127.0.0.1, port: 0}
data_dir: ${dir}/data
pools: {p: {upstreams: [{url: "http://127.0.0.1:9"}]}}
models: [{name: m, pool: p}]
${extra}`);
}

before(async () => {
  cfg = path.join(dir, 'gw.yaml');
  writeConfig();
  for (const name of ['ops', 'other']) keys[name] = fathom('keys', 'create', '--config', cfg, '--tenant', name, '--admin');
  const ids = fathom('keys', 'list', '--config', cfg).split('\n').filter((l) => /yes/.test(l)).map((l) => l.split(/\s+/)[0]);
  assert.equal(ids.length, 2);
  writeConfig(`admin:
  totp_secrets: {${ids[0]}: ${SECRET}, ${ids[1]}: ${SECRET}}
  lockout: {max_failures: 3, window_ms: 600000, lock_ms: 600000}
`);
  gateway = await Gateway.start(cfg);
});
after(async () => {
  await gateway?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const listKeys = (key, otp) => fetch(gateway.url + '/admin/keys',
  { headers: { Authorization: `Bearer ${key}`, ...(otp ? { 'x-fathom-otp': otp } : {}) } });

test('the admin API needs the current one-time code, and each code works once', async () => {
  const none = await listKeys(keys.ops);
  assert.equal(none.status, 401);
  assert.match((await none.json()).error.message, /x-fathom-otp/);
  const now = Date.now() / 1000;
  const ok = await listKeys(keys.ops, totp(now));
  const body = await ok.json();
  assert.equal(ok.status, 200, JSON.stringify(body));
  assert.ok(body.data.length >= 2);
  const replay = await listKeys(keys.ops, totp(now));  // the same code again
  assert.equal(replay.status, 401);
});

test('repeated failures lock the key; other keys are not affected; every failure is audited', async () => {
  // (The ops key failed once above, with its replayed code: it is not locked.)
  for (let i = 0; i < 3; ++i) assert.equal((await listKeys(keys.other, '000000')).status, 401);
  const locked = await listKeys(keys.other, totp(Date.now() / 1000));  // the right code, too late
  assert.equal(locked.status, 403);
  assert.match((await locked.json()).error.message, /locked/);
  assert.ok(Number(locked.headers.get('retry-after')) > 0);
  // The gateway's writer thread appends audit records shortly after the answers: wait (bounded).
  const audited = () => {  // whole lines only: one may be half written
    const lines = readFileSync(path.join(dir, 'data', 'audit.jsonl'), 'utf8').split('\n');
    lines.pop();
    return lines.map((l) => JSON.parse(l));
  };
  let audit = audited();
  for (let i = 0; i < 500 && !audit.some((r) => r.event === 'admin.locked_out'); ++i) {
    await new Promise((r) => setTimeout(r, 10));
    audit = audited();
  }
  assert.ok(audit.filter((r) => r.event === 'admin.second_factor_failed').length >= 3);
  assert.ok(audit.some((r) => r.event === 'admin.locked_out'));
  const opsAgain = await listKeys(keys.ops, totp(Date.now() / 1000 + 30));  // the next step's code
  assert.equal(opsAgain.status, 200);
  assert.equal(fathom('audit', 'verify', path.join(dir, 'data', 'audit.jsonl')).includes('chain intact'), true);
});
