// Hybrid cloud through `fathom gateway`: two on-prem `fathom serve` upstreams and a "cloud" one
// (another local server behind a recording proxy, in a pool marked `zone: cloud`). Requests
// seeded with each kind of sensitive data (valid check digits) never reach the cloud upstream
// — checked on the cloud side's own request log — under bursts, on-prem failure, retries and
// the response cache; invalid check digits are not flagged; non-sensitive load above the
// on-prem threshold bursts to the cloud and comes back; `fathom audit zones` proves it from the
// audit log and the ledger, and fails on a doctored ledger.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startServer, fathomBin, repoRoot } from './lib/server.mjs';
import { fathom, Gateway } from './lib/gateway.mjs';

const dir = mkdtempSync(path.join(os.tmpdir(), 'fathom-hybrid-'));
let onpremA, onpremB, cloud, proxy, gateway, cfg;
const cloudLog = [];  // every request body the cloud upstream received
const keys = {};

// ---- sensitive data with valid check digits, computed here ----
function cnId(base17) {  // GB 11643: ISO 7064 MOD 11-2
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...base17].reduce((s, c, i) => s + Number(c) * w[i], 0);
  return base17 + '10X98765432'[sum % 11];
}
function uscc(base17) {  // GB 32100
  const alphabet = '0123456789ABCDEFGHJKLMNPQRTUWXY';
  const w = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
  const sum = [...base17].reduce((s, c, i) => s + alphabet.indexOf(c) * w[i], 0);
  return base17 + alphabet[(31 - (sum % 31)) % 31];
}
function luhn(base) {
  const digits = [...base].map(Number).reverse();
  const sum = digits.reduce((s, d, i) => s + (i % 2 === 0 ? (d * 2 > 9 ? d * 2 - 9 : d * 2) : d), 0);
  return base + String((10 - (sum % 10)) % 10);
}
const luhnOk = (digits) => luhn(digits.slice(0, -1)) === digits;
const flip = (s) => s.slice(0, -2) + String((Number(s.at(-2)) + 1) % 10) + s.at(-1);
// An ID whose check digit is wrong, and which is not a Luhn-valid card number by chance either.
function badId(base17) {
  const good = cnId(base17);
  return [...'0123456789'].map((d) => base17 + d).find((id) => id !== good && !luhnOk(id));
}
const sensitive = {
  cn_id_card: `身份证号 ${cnId('11010519900307123')}`,
  cn_uscc: `统一社会信用代码 ${uscc('91110108MA01ABCD1')}`,
  cn_mobile: 'call me at 13912345678 please',
  bank_card: `card ${luhn('622202020011234567')}`,
  passport: 'passport E12345678 expires soon',
  email: 'mail zhang.san@example.com today',
  ipv4: 'the db is at 10.20.30.40',
};
const notSensitive = {
  bad_id: `身份证号 ${badId('11010519900307123')}`,
  bad_card: `card ${flip(luhn('622202020011234567'))}`,
  bad_mobile: 'call 12912345678',
  plain: 'What is the capital of France?',
};

function writeConfig(upstreams, cloudUrl) {
  const p = path.join(dir, 'gw.yaml');
  writeFileSync(p, `
listen: {host: 127.0.0.1, port: 0}
data_dir: ${dir}/data
health_check: {interval_ms: 600000}
retry: {max_attempts: 3, budget_ratio: 1.0}
breaker: {min_requests: 100, error_rate: 0.9, sleep_window_ms: 600000}
pools:
  local:
    policy: least_outstanding
    upstreams:
${upstreams.map((u) => `      - {url: ${u}, model: tiny}`).join('\n')}
    burst: {max_in_flight: 1}
    fallback: cloud
  cloud:
    zone: cloud
    upstreams: [{url: ${cloudUrl}, model: tiny}]
models:
  - {name: ds, pool: local}
classification:
  tenants:
    secret: {always_sensitive: true}
`);
  return p;
}

// The cloud side: a proxy that logs each request body, then forwards it to a real server.
function recordingProxy(target) {
  const server = http.createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += c;
    if (req.method === 'POST') cloudLog.push(body);
    const up = await fetch(target + req.url, { method: req.method, headers: { 'content-type': 'application/json' },
      body: req.method === 'POST' ? body : undefined });
    res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'application/json' });
    for await (const chunk of up.body) res.write(chunk);
    res.end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const chat = (content, extra = {}) => ({ model: 'ds', messages: [{ role: 'user', content }], max_tokens: 4, ...extra });
const inCloudLog = (text) => cloudLog.some((b) => b.includes(text.split(' ').find((w) => /\d{6,}|@|\.\d+\./.test(w)) ?? text));

before(async () => {
  [onpremA, onpremB, cloud] = await Promise.all([0, 1, 2].map(() => startServer({ args: ['--served-model-name', 'tiny'] })));
  proxy = await recordingProxy(cloud.url);
  cfg = writeConfig([onpremA.url, onpremB.url], `http://127.0.0.1:${proxy.address().port}`);
  for (const t of ['acme', 'secret', 'public']) keys[t] = fathom('keys', 'create', '--config', cfg, '--tenant', t);
  gateway = await Gateway.start(cfg);
});
after(async () => {
  await gateway?.stop();
  proxy?.close();
  for (const s of [onpremA, onpremB, cloud]) await s?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('each kind of sensitive data is flagged and served on-prem; invalid check digits are not flagged', async () => {
  for (const [kind, text] of Object.entries(sensitive)) {
    const r = await gateway.post('/v1/chat/completions', chat(text), keys.acme);
    assert.equal(r.status, 200, `${kind}: ${r.text}`);
    const [line] = await gateway.accessLines((l) => l.request_id === r.headers.get('x-request-id'));
    assert.equal(line.sensitive, true, kind);
    assert.ok(line.sensitive_kinds[kind] >= 1, `${kind}: ${JSON.stringify(line.sensitive_kinds)}`);
    assert.equal(line.zone, 'on_prem');
    assert.match(line.route, /^sensitive/);
  }
  for (const [name, text] of Object.entries(notSensitive)) {
    const r = await gateway.post('/v1/chat/completions', chat(text), keys.acme);
    assert.equal(r.status, 200, r.text);
    const [line] = await gateway.accessLines((l) => l.request_id === r.headers.get('x-request-id'));
    assert.equal(line.sensitive, false, `${name}: ${JSON.stringify(line)}`);
  }
  assert.equal(cloudLog.length, 0, 'nothing needed the cloud yet');
});

test('non-sensitive load above the on-prem threshold bursts to the cloud; sensitive load never does', async () => {
  const long = (content) => chat(content, { max_tokens: 40, ignore_eos: true, stream: true });
  const plain = Array.from({ length: 8 }, (_, i) => gateway.post('/v1/chat/completions', long(`burst ${i}`), keys.acme));
  const secret = Object.values(sensitive).map((t) => gateway.post('/v1/chat/completions', long(t), keys.acme));
  const answers = await Promise.all([...plain, ...secret]);
  for (const a of answers) assert.equal(a.status, 200, a.text);
  const lines = await gateway.accessLines((l) => /^burst/.test(l.route ?? ''));
  assert.ok(lines.length >= 1 && lines.every((l) => l.zone === 'cloud' && l.sensitive === false), JSON.stringify(lines));
  assert.ok(cloudLog.some((b) => b.includes('burst ')), 'the cloud upstream saw the burst');
  for (const text of Object.values(sensitive)) assert.ok(!inCloudLog(text), `leaked to the cloud: ${text}`);
  // The load is gone: the next request is served on-prem again.
  const calm = await gateway.post('/v1/chat/completions', chat('calm again'), keys.acme);
  const [line] = await gateway.accessLines((l) => l.request_id === calm.headers.get('x-request-id'));
  assert.equal(line.zone, 'on_prem');
  assert.equal(line.route, 'primary');
});

test('on-prem down: sensitive requests get a 503 after retries on-prem only, the rest fail over to the cloud', async () => {
  await onpremA.stop();
  await onpremB.stop();
  const before = cloudLog.length;
  for (const text of Object.values(sensitive)) {
    const r = await gateway.post('/v1/chat/completions', chat(text), keys.acme);
    assert.equal(r.status, 503, r.text);
    assert.equal(r.json.error.code, 'no_on_prem_upstream');
  }
  assert.equal(cloudLog.length, before, 'no sensitive request reached the cloud');
  const ok = await gateway.post('/v1/chat/completions', chat(notSensitive.bad_id), keys.acme);
  assert.equal(ok.status, 200, ok.text);
  assert.ok(inCloudLog(notSensitive.bad_id), 'an invalid ID is not sensitive: it may go to the cloud');
  // A header can raise the classification: the same request is then refused here.
  const raised = await gateway.post('/v1/chat/completions', chat('plain words'), keys.acme, { 'x-fathom-sensitivity': 'sensitive' });
  assert.equal(raised.status, 503, raised.text);
});

test('a cloud answer in the response cache is never served to a sensitive request', async () => {
  const body = chat('cache me if you can', { temperature: 0 });
  const first = await gateway.post('/v1/chat/completions', body, keys.public);
  assert.equal(first.status, 200, first.text);  // from the cloud (on-prem is down)
  const again = await gateway.post('/v1/chat/completions', body, keys.public);
  assert.equal(again.headers.get('x-fathom-cache'), 'hit');
  const before = cloudLog.length;
  const secret = await gateway.post('/v1/chat/completions', body, keys.secret);  // always_sensitive tenant
  assert.equal(secret.status, 503, secret.text);
  assert.equal(secret.headers.get('x-fathom-cache'), null);
  assert.equal(cloudLog.length, before);
});

test('fathom audit zones proves no sensitive request was served in the cloud, and fails on a doctored ledger', async () => {
  const month = new Date().toISOString().slice(0, 7);
  const zones = () => spawnSync(fathomBin, ['audit', 'zones', '--config', cfg, '--month', month], { cwd: repoRoot, encoding: 'utf8' });
  // The ledger is written asynchronously: wait (bounded) until the sensitive rows are there.
  let out;
  for (let i = 0; i < 300; ++i) {
    out = zones();
    if (/ 0 without a ledger row/.test(out.stdout)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(out.status, 0, out.stdout + out.stderr);
  assert.match(out.stdout, /chain intact/);
  assert.match(out.stdout, /; 0 in a cloud zone/);
  assert.match(out.stdout, /OK: no sensitive request was served by a cloud zone/);
  const served = Number(out.stdout.match(/(\d+) served on-prem/)[1]);
  assert.ok(served >= Object.keys(sensitive).length * 2, out.stdout);

  // Doctor the ledger: one sensitive request's row now names the cloud upstream.
  const [line] = await gateway.accessLines((l) => l.sensitive === true && l.zone === 'on_prem');
  const cloudId = `cloud/127.0.0.1:${proxy.address().port}`;
  execFileSync('python3', ['-c', `import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("update usage set upstream=? where request_id=?", (sys.argv[2], sys.argv[3])); c.commit()`,
    path.join(dir, 'data', 'ledger.db'), cloudId, line.request_id]);
  const doctored = zones();
  assert.equal(doctored.status, 1, doctored.stdout + doctored.stderr);
  assert.match(doctored.stdout, new RegExp(`VIOLATION .*${line.request_id}.*the ledger says upstream ${cloudId}`));
});
