// The admin endpoints behind the operator console (docs/gateway.md "Admin API for the console"),
// through the real gateway in front of a real `fathom serve`, on their own (the browser test,
// console_browser.test.mjs, drives them through the pages): console sessions under the TOTP
// second factor, tenants, usage from the ledger, the live view, the audit log with its chain
// verification, the masked config and its reload; and the console's files at /ui/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer } from './lib/server.mjs';
import { fathom, Gateway, TOTP_SECRET, totp } from './lib/gateway.mjs';

const dir = mkdtempSync(path.join(os.tmpdir(), 'fathom-console-api-'));
const SECRET = TOTP_SECRET;
let upstream, gateway, cfg, adminKey, userKey, session;

function writeConfig(adminId, extraModels = '') {
  writeFileSync(cfg, `
listen: {host: 127.0.0.1, port: 0}
data_dir: ${dir}/data
access_log: off
health_check: {interval_ms: 600000}
pools: {main: {policy: round_robin, upstreams: [{url: "${upstream.url}", model: tiny}]}}
models:
  - {name: chat, aliases: [c], pool: main}
${extraModels}
prices: {chat: {currency: CNY, input_per_1k: "1", output_per_1k: "2"}}
tenants: {acme: {requests_per_minute: 600, tokens_per_minute: 100000}}
` + (adminId ? `admin:\n  totp_secrets: {${adminId}: ${SECRET}}\n` : ''));
}

const admin = (route, { method = 'GET', body, headers = {} } = {}) => fetch(gateway.url + route, {
  method,
  headers: { Authorization: `Bearer ${adminKey}`, ...(session ? { 'x-fathom-admin-session': session } : {}),
    ...(body ? { 'Content-Type': 'application/json' } : {}), ...headers },
  body: body ? JSON.stringify(body) : undefined,
});
async function adminJson(route, opts) {
  const res = await admin(route, opts);
  const json = await res.json();
  assert.equal(res.status, opts?.expect ?? 200, JSON.stringify(json));
  return json;
}

before(async () => {
  upstream = await startServer({ args: ['--served-model-name', 'tiny'] });
  cfg = path.join(dir, 'gw.yaml');
  writeConfig(null);
  adminKey = fathom('keys', 'create', '--config', cfg, '--tenant', 'ops', '--admin');
  userKey = fathom('keys', 'create', '--config', cfg, '--tenant', 'acme');
  fathom('keys', 'create', '--config', cfg, '--tenant', 'keys-only');
  const adminId = fathom('keys', 'list', '--config', cfg).split('\n').find((l) => /\bops\b/.test(l)).split(/\s+/)[0];
  writeConfig(adminId);
  gateway = await Gateway.start(cfg);
});
after(async () => {
  await gateway?.stop();
  await upstream?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('the console pages are served from the binary, with a strict CSP', async () => {
  const redirect = await fetch(gateway.url + '/ui', { redirect: 'manual' });
  assert.equal(redirect.status, 308);
  assert.equal(redirect.headers.get('location'), '/ui/');
  for (const page of ['/ui/', '/ui/admin.html']) {
    const res = await fetch(gateway.url + page);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/html/);
    assert.match(res.headers.get('content-security-policy'), /script-src 'self';/);
    const html = await res.text();
    const script = html.match(/src="\.\/(assets\/[^"]+\.js)"/);
    assert.ok(script, html);
    const js = await fetch(gateway.url + '/ui/' + script[1]);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type'), /^text\/javascript/);
    assert.match(js.headers.get('cache-control'), /immutable/);
  }
  assert.equal((await fetch(gateway.url + '/ui/nope.html')).status, 404);
  // fathom serve has the chat page at / (and no operator console).
  const chat = await fetch(upstream.url + '/');
  assert.equal(chat.status, 200);
  assert.match(await chat.text(), /<title>fathom chat<\/title>/);
  assert.equal((await fetch(upstream.url + '/admin.html')).status, 404);
});

test('a console session stands in for the one-time code until it is closed', async () => {
  const noCode = await admin('/admin/session', { method: 'POST', body: {} });
  assert.equal(noCode.status, 401);
  const opened = await adminJson('/admin/session', { method: 'POST', body: {}, headers: { 'x-fathom-otp': totp(Date.now() / 1000) }, expect: 201 });
  assert.match(opened.session, /^fas-/);
  assert.equal(opened.second_factor, true);
  session = opened.session;
  for (let i = 0; i < 3; ++i) await adminJson('/admin/keys');  // no code needed, again and again
  const wrong = await fetch(gateway.url + '/admin/keys', { headers: { Authorization: `Bearer ${adminKey}`, 'x-fathom-admin-session': 'fas-forged' } });
  assert.equal(wrong.status, 401);
  assert.match((await wrong.json()).error.message, /session/);
  // A user key with the session is still not an admin.
  const user = await fetch(gateway.url + '/admin/keys', { headers: { Authorization: `Bearer ${userKey}`, 'x-fathom-admin-session': session } });
  assert.equal(user.status, 403);
});

test('tenants: configured limits, keys and tokens this month; key-only tenants too', async () => {
  const t = await adminJson('/admin/tenants');
  const acme = t.data.find((r) => r.tenant === 'acme');
  assert.deepEqual(acme.limits, { requests_per_minute: 600, tokens_per_minute: 100000, max_concurrent: 0, monthly_tokens: 0 });
  assert.equal(acme.configured, true);
  assert.equal(acme.active_keys, 1);
  const keysOnly = t.data.find((r) => r.tenant === 'keys-only');
  assert.equal(keysOnly.configured, false);
  assert.ok(t.key_limits);
});

test('usage: a request is in its day, tenant and model with its cost; a bad month is named', async () => {
  const dayBefore = new Date().toISOString().slice(0, 10);
  const res = await gateway.post('/v1/chat/completions', { model: 'c', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3, temperature: 0 }, userKey);
  assert.equal(res.status, 200, res.text);
  const now = new Date().toISOString();
  const u = await adminJson(`/admin/usage?month=${now.slice(0, 7)}`);
  const rows = u.data.filter((r) => r.tenant === 'acme' && r.model === 'chat');
  assert.equal(rows.length, 1, JSON.stringify(u));
  const [row] = rows;
  assert.ok([dayBefore, now.slice(0, 10)].includes(row.day), row.day);  // UTC midnight may pass meanwhile
  assert.equal(row.requests, 1);
  assert.equal(row.prompt_tokens, res.json.usage.prompt_tokens);
  assert.equal(row.completion_tokens, res.json.usage.completion_tokens);
  assert.equal(row.cost_nanos, row.prompt_tokens * 1e6 + row.completion_tokens * 2e6);
  assert.equal(row.currency, 'CNY');
  assert.deepEqual((await adminJson('/admin/usage?month=2001-01')).data, []);
  for (const bad of ['2026-13', '2026-1', 'x']) {
    const r = await admin(`/admin/usage?month=${bad}`);
    assert.equal(r.status, 400);
    const e = (await r.json()).error;
    assert.equal(e.param, 'month');
    assert.match(e.message, /YYYY-MM/);
  }
});

test('live: pools, upstreams, health, breaker and in-flight', async () => {
  const live = await adminJson('/admin/live');
  assert.equal(live.pools.length, 1);
  const [u] = live.pools[0].upstreams;
  assert.equal(u.id, `main/${new URL(upstream.url).host}`);
  assert.equal(u.healthy, true);
  assert.equal(u.breaker, 'closed');
  assert.equal(u.in_flight, 0);
  assert.ok(u.requests_total >= 1);
  assert.deepEqual(live.models, [{ name: 'chat', aliases: ['c'], pool: 'main' }]);
});

test('audit: the chain verifies and the newest records come first; a bad limit is named', async () => {
  const a = await adminJson('/admin/audit?limit=5');
  assert.equal(a.verification.ok, true, JSON.stringify(a.verification));
  assert.ok(a.verification.records >= 1);
  assert.ok(a.records.length <= 5);
  assert.ok(a.records.some((r) => r.event === 'admin.session_opened'), JSON.stringify(a.records));
  for (let i = 1; i < a.records.length; ++i) assert.ok(a.records[i - 1].seq > a.records[i].seq);
  const bad = await admin('/admin/audit?limit=0');
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error.param, 'limit');
});

test('config: secrets masked; a bad file is refused and the running config stays; a good one applies', async () => {
  const c = await adminJson('/admin/config');
  assert.equal(c.path, cfg);
  assert.ok(!c.yaml.includes(SECRET), c.yaml);
  assert.match(c.yaml, /\*\*\*/);
  const adminId = fathom('keys', 'list', '--config', cfg).split('\n').find((l) => /\bops\b/.test(l)).split(/\s+/)[0];
  writeFileSync(cfg, 'pools: {main: {upstreams: []}}\nbogus_field: 1\n');
  const refused = await admin('/admin/config/reload', { method: 'POST', body: {} });
  assert.equal(refused.status, 400);
  assert.match((await refused.json()).error.message, /bogus_field/);
  assert.equal((await adminJson('/admin/live')).models.length, 1);  // still running the old one
  writeConfig(adminId, '  - {name: extra, pool: main}');
  assert.equal((await adminJson('/admin/config/reload', { method: 'POST', body: {} })).reloaded, true);
  assert.deepEqual((await adminJson('/admin/live')).models.map((m) => m.name), ['chat', 'extra']);
});

test('closing the session ends it', async () => {
  await adminJson('/admin/session', { method: 'DELETE' });
  assert.equal((await admin('/admin/keys')).status, 401);
  session = null;
});
