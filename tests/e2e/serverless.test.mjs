// End-to-end tests of serverless pools (docs/serverless.md): the gateway starts real
// `fathom serve` workers on the fixture model, scales them with the KPA autoscaler on a test
// clock (`fathom gateway --test-clock`, moved by POST /admin/test/clock), queues requests while
// an instance starts, drains idle ones to zero, replaces a killed one, prewarms on a schedule
// and bills per_compute in 100 ms steps. Processes are checked by PID.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { modelsDir, readSse } from './lib/server.mjs';
import { fathom, Gateway } from './lib/gateway.mjs';

const dir = mkdtempSync(path.join(os.tmpdir(), 'fathom-serverless-'));
const model = path.join(modelsDir, 'deepseek_v3');
// A port range of our own for the workers (the pool skips ports in use).
const portBase = 21000 + (process.pid % 400) * 20;
let gw, cfg, key, admin;

function writeConfig(name, { ports, prewarm = '', extra = '' }) {
  const p = path.join(dir, name);
  writeFileSync(p, `
listen: {host: 127.0.0.1, port: 0}
data_dir: ${dir}/data-${name}
timeouts: {keepalive_comment_ms: 1}
retry: {max_attempts: 2}
cache: {enabled: false}
pools:
  r1:
    kind: serverless
    worker: {model: ${model}, ports: ${ports}, start_timeout_ms: 60000, drain_timeout_ms: 20000}
    min_instances: 0
    max_instances: 2
    target_concurrency: 1
    target_utilization_percentage: 100
    container_concurrency: 1
    stable_window_ms: 6000
    idle_timeout_ms: 10000
    queue: {max_requests: 32, timeout_ms: 120000}
${prewarm}
models:
  - {name: deepseek-r1, pool: r1}
prices:
  deepseek-r1: {plan: per_compute, per_instance_second: "0.000321", granularity_ms: 100}
${extra}
`);
  return p;
}

// The PIDs of a process's children, from every thread's list (the workers are forked by the
// pool's control thread).
function childrenOf(pid) {
  const out = new Set();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
    for (const c of text ? text.split(/\s+/) : []) out.add(Number(c));
  }
  return out;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// The gateway's log (stderr), collected; waitLog resolves once `re` matches what follows `from`.
function collectLog(g) {
  g.log = g.output;
  g.proc.stderr.on('data', (c) => { g.log += c.toString(); });
}
async function waitLog(g, re, from = 0) {
  for (;;) {
    const m = g.log.slice(from).match(re);
    if (m) return m;
    await once(g.proc.stderr, 'data');
  }
}

const get = async (g, route, k = admin) =>
  (await fetch(g.url + route, { headers: { Authorization: `Bearer ${k}` } })).json();
const pool = async (g) => (await get(g, '/admin/pools')).data[0];
const advance = (g, ms) => g.post('/admin/test/clock', { advance_ms: ms }, admin);
const completion = (extra = {}) => ({ model: 'deepseek-r1', prompt: 'Hello', max_tokens: 4, temperature: 0, ...extra });

before(async () => {
  cfg = writeConfig('gw.yaml', { ports: `${portBase}-${portBase + 9}` });
  key = fathom('keys', 'create', '--config', cfg, '--tenant', 'acme');
  admin = fathom('keys', 'create', '--config', cfg, '--tenant', 'ops', '--admin');
  gw = await Gateway.start(cfg, { args: ['--test-clock'] });
  collectLog(gw);
});

after(async () => {
  const pids = gw ? childrenOf(gw.proc.pid) : new Set();
  await gw?.stop();
  for (const pid of pids) assert.equal(alive(pid), false, `worker ${pid} outlived the gateway`);
  rmSync(dir, { recursive: true, force: true });
});

test('no worker runs until the first request, which is answered once one has started', async () => {
  assert.deepEqual((await pool(gw)).instances, []);
  assert.equal(childrenOf(gw.proc.pid).size, 0);
  const r = await gw.post('/v1/completions', completion(), key);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.choices.length, 1);
  assert.ok(Number(r.headers.get('x-fathom-cold-start-ms')) > 0, 'the first request waited for a start');
  const p = await pool(gw);
  assert.equal(p.instances.length, 1);
  assert.equal(p.instances[0].state, 'ready');
  assert.ok(childrenOf(gw.proc.pid).has(p.instances[0].pid), 'the worker is the gateway\'s child');
  assert.equal(r.headers.get('x-fathom-upstream'), `r1/127.0.0.1:${p.instances[0].port}`);
  // Warm now: no wait.
  const warm = await gw.post('/v1/completions', completion(), key);
  assert.equal(warm.status, 200);
  assert.equal(warm.headers.get('x-fathom-cold-start-ms'), '0');
});

test('a stream is answered by the warm instance', async () => {
  const res = await gw.fetch('/v1/chat/completions', {
    model: 'deepseek-r1', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5, stream: true,
  }, key);
  assert.equal(res.status, 200);
  const events = await readSse(res);
  assert.equal(events.at(-1), '[DONE]');
  assert.ok(events.some((e) => e.choices?.[0]?.delta?.content !== undefined));
});

test('a burst scales out to max_instances; the extra requests queue and none fails', async () => {
  // Each request generates 160 tokens, so all six are in flight together even when a loaded
  // machine spreads their arrival (with 24 tokens, one could finish before the next arrived).
  const burst = await Promise.all(Array.from({ length: 6 }, (_, i) =>
    gw.post('/v1/completions', completion({ prompt: `burst ${i}`, max_tokens: 160, ignore_eos: true }), key)));
  for (const r of burst) assert.equal(r.status, 200, r.text);
  const p = await pool(gw);
  assert.equal(p.starts, 2, 'the queue made the pool start its second instance, and no more');
  assert.equal(p.instances.length, 2);
  // With container_concurrency 1 at least 4 of the 6 waited in the activator.
  assert.ok(burst.filter((r) => Number(r.headers.get('x-fathom-cold-start-ms')) > 0).length >= 4);
  assert.ok(await gw.metric('fathom_gateway_cold_start_seconds_count', 'pool="r1"') >= 5);
  assert.equal(await gw.metric('fathom_gateway_serverless_queued_requests', 'pool="r1"'), 0);
});

test('after the idle time the pool drains back to zero processes (checked by PID)', async () => {
  const pids = (await pool(gw)).instances.map((i) => i.pid);
  assert.ok(pids.length >= 1);
  const from = gw.log.length;
  await advance(gw, 60_000);  // past the stable window and idle_timeout_ms, on the test clock
  for (const pid of pids) await waitLog(gw, new RegExp(`\\(pid ${pid}, port \\d+\\) stopped: exited with status 0`), from);
  for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} is gone (reaped, no zombie)`);
  assert.equal(childrenOf(gw.proc.pid).size, 0);
  assert.deepEqual((await pool(gw)).instances, []);
});

test('a stream that waits for a cold start gets its head and keep-alive comments meanwhile', async () => {
  assert.deepEqual((await pool(gw)).instances, []);
  const res = await gw.fetch('/v1/chat/completions', {
    model: 'deepseek-r1', messages: [{ role: 'user', content: 'cold' }], max_tokens: 3, stream: true,
  }, key);
  assert.equal(res.status, 200);
  const text = await res.text();
  // keepalive_comment_ms is 1: less than any worker takes to start (a fork, an exec, a model
  // load and a health check; 20 was not: a worker here once started in 18 ms), so the head
  // went out while the request waited (no cold-start header then) and comments followed until
  // the first token.
  assert.equal(res.headers.get('x-fathom-cold-start-ms'), null);
  assert.match(text.slice(0, text.indexOf('data:')), /^: keep-alive$/m);
  assert.match(text, /data: \[DONE\]/);
  const [line] = await gw.accessLines((l) => l.stream && l.cold_start_ms > 1);
  assert.ok(line.cold_start_ms < 60_000);
});

test('a worker killed mid-stream gives the client an error event; the next request starts a new one', async () => {
  // Every running instance is killed at the stream's first token, the one serving it included.
  const victims = (await pool(gw)).instances.map((i) => i.pid);
  assert.ok(victims.length >= 1);
  const res = await gw.fetch('/v1/completions', completion({ max_tokens: 200, stream: true, ignore_eos: true }), key);
  assert.equal(res.status, 200);
  let killed = false;
  const events = await readSse(res, (e) => {
    if (!killed && e.choices) {
      for (const pid of victims) process.kill(pid, 'SIGKILL');
      killed = true;
    }
  });
  assert.ok(killed);
  const last = events.at(-1);
  assert.notEqual(last, '[DONE]');
  assert.equal(last.error.code, 'upstream_error', JSON.stringify(last));
  const next = await gw.post('/v1/completions', completion(), key);
  assert.equal(next.status, 200, next.text);
  const after = (await pool(gw)).instances;
  assert.ok(after.length >= 1);
  assert.ok(after.every((i) => !victims.includes(i.pid)));
  for (const pid of victims) assert.equal(alive(pid), false, `killed worker ${pid} was reaped`);
  assert.ok((await pool(gw)).crashes >= 1);
});

test('scaling down never loses a request that arrives at the same moment', async () => {
  for (let round = 0; round < 3; ++round) {
    await gw.post('/v1/completions', completion(), key);  // an instance is up and idle
    const [, r] = await Promise.all([advance(gw, 60_000), gw.post('/v1/completions', completion(), key)]);
    assert.equal(r.status, 200, r.text);
  }
});

test('per_compute rows bill the instance time rounded up to 100 ms; report totals equal the rows', async () => {
  const lines = await gw.accessLines((l) => l.model === 'deepseek-r1' && l.status === 200);
  assert.ok(lines.length >= 10);
  for (const l of lines) {
    assert.equal(l.billing_granularity_ms, 100);
    assert.equal(l.billed_ms, Math.ceil(l.instance_ms / 100) * 100, JSON.stringify(l));
    assert.equal(l.cost_nanos, l.billed_ms * 321);  // 0.000321 per instance-second
  }
  // Every request of the tenant (the killed stream too) is in the ledger, durable before its
  // answer; the access log is written every 200 ms, so wait for it to catch up.
  const month = new Date().toISOString().slice(0, 7);
  const report = JSON.parse(fathom('billing', 'report', '--config', cfg, '--tenant', 'acme', '--month', month, '--format', 'json'));
  let all;
  for (;;) {
    all = await gw.accessLines((l) => l.model === 'deepseek-r1' && l.tenant === 'acme');
    if (all.length >= report.total.requests) break;
    await once(gw.proc.stdout, 'data');
  }
  const m = report.models['deepseek-r1'];
  assert.equal(m.plan, 'per_compute');
  assert.equal(m.requests, all.length);
  assert.equal(m.billed_ms, all.reduce((s, l) => s + l.billed_ms, 0));
  assert.equal(m.cost_nanos, all.reduce((s, l) => s + l.cost_nanos, 0));
  assert.equal(report.total.cost_nanos, m.cost_nanos);
});

test('prewarming: a schedule window keeps an instance ready without traffic; the admin endpoint prewarms', async () => {
  // A gateway of its own whose window opens two hours after its test clock starts (UTC).
  const hhmm = (d) => d.toISOString().slice(11, 16);
  const now = Date.now();
  const from = new Date(now + 2 * 3600_000), to = new Date(now + 3 * 3600_000);
  const pcfg = writeConfig('prewarm.yaml', {
    ports: `${portBase + 10}-${portBase + 19}`,
    prewarm: `    prewarm:
      time_zone: UTC
      windows: [{from: "${hhmm(from)}", to: "${hhmm(to)}", instances: 1}]
      warmup: {prompt: "warm up", requests: 2}`,
  });
  const padmin = fathom('keys', 'create', '--config', pcfg, '--tenant', 'ops', '--admin');
  const g = await Gateway.start(pcfg, { args: ['--test-clock'] });
  collectLog(g);
  try {
    const poolOf = async () => (await get(g, '/admin/pools', padmin)).data[0];
    const move = (ms) => g.post('/admin/test/clock', { advance_ms: ms }, padmin);
    assert.deepEqual((await poolOf()).instances, []);
    let mark = g.log.length;
    await move(2 * 3600_000 + 60_000);  // into the window
    await waitLog(g, /instance \d+ ready in \d+ ms/, mark);
    const [inst] = (await poolOf()).instances;
    assert.equal(inst.state, 'ready');
    // 50 minutes without a request, well past idle_timeout_ms: still there.
    for (let i = 0; i < 5; ++i) await move(10 * 60_000);
    assert.deepEqual((await poolOf()).instances.map((i) => i.pid), [inst.pid]);
    assert.equal((await poolOf()).floor, 1);
    // The window closes: the instance drains away.
    mark = g.log.length;
    await move(30 * 60_000);
    await waitLog(g, new RegExp(`\\(pid ${inst.pid}, port \\d+\\) stopped`), mark);
    assert.equal(alive(inst.pid), false);
    // On demand: POST /admin/pools/r1/prewarm.
    mark = g.log.length;
    const pre = await g.post('/admin/pools/r1/prewarm', { instances: 2, hold_ms: 600_000 }, padmin);
    assert.equal(pre.status, 200, pre.text);
    await waitLog(g, /instance \d+ ready in[^]*instance \d+ ready in/, mark);
    assert.equal((await poolOf()).instances.filter((i) => i.state === 'ready').length, 2);
    const bad = await g.post('/admin/pools/r1/prewarm', { instances: 9 }, padmin);
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.param, 'instances');
    assert.equal((await g.post('/admin/pools/nope/prewarm', {}, padmin)).status, 404);
  } finally {
    const pids = childrenOf(g.proc.pid);
    await g.stop();
    for (const pid of pids) assert.equal(alive(pid), false);
  }
});

test('without --test-clock the clock endpoint does not exist', async () => {
  const plain = writeConfig('plain.yaml', { ports: `${portBase}-${portBase + 1}` });
  const k = fathom('keys', 'create', '--config', plain, '--tenant', 'ops', '--admin');
  const g = await Gateway.start(plain);
  try {
    assert.equal((await g.post('/admin/test/clock', { advance_ms: 1 }, k)).status, 404);
    assert.ok(existsSync(path.join(dir, 'data-plain.yaml', 'workers')));
  } finally {
    await g.stop();
  }
});

test('a worker that fails to start is retried with backoff; the waiting request gets a 503 with Retry-After', async () => {
  // The usual config with a model folder that does not exist, short backoffs and queue timeout.
  const bad = writeConfig('bad.yaml', { ports: `${portBase + 10}-${portBase + 19}` });
  writeFileSync(bad, readFileSync(bad, 'utf8')
    .replace(`model: ${model},`, `model: ${dir}/no-such-model, start_backoff_ms: 50, max_start_backoff_ms: 200,`)
    .replace('timeout_ms: 120000', 'timeout_ms: 5000'));
  const k = fathom('keys', 'create', '--config', bad, '--tenant', 'acme');
  const ka = fathom('keys', 'create', '--config', bad, '--tenant', 'ops', '--admin');
  const g = await Gateway.start(bad);
  try {
    const r = await g.post('/v1/completions', completion(), k);
    assert.equal(r.status, 503);
    assert.equal(r.headers.get('retry-after'), '1');
    assert.equal(r.json.error.code, 'no_instance_ready');
    assert.match(r.json.error.message, /last problem: instance \d+ exited while starting/, r.json.error.message);
    const p = (await get(g, '/admin/pools', ka)).data[0];
    assert.ok(p.start_failures >= 1 && p.starts >= 2, `retried: ${p.starts} starts, ${p.start_failures} failed`);
    assert.ok(p.starts <= 40, 'with backoff (50 ms doubling to 200 ms), not in a tight loop');
  } finally {
    const pids = childrenOf(g.proc.pid);
    await g.stop();
    for (const pid of pids) assert.equal(alive(pid), false);
  }
});
