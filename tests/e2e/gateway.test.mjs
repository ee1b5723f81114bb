// End-to-end tests of `fathom gateway` in front of real `fathom serve` upstreams (and a real
// Redis for the two-replica quota test): keys, quotas, billing, streaming pass-through,
// failover with circuit breakers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Ajv from 'ajv';
import { startServer, readSse } from './lib/server.mjs';
import { fathom, Gateway } from './lib/gateway.mjs';

const dir = mkdtempSync(path.join(os.tmpdir(), 'fathom-gw-'));
let upstreamA, upstreamB, gateway, configPath;
const keys = {};
const billed = { requests: 0, prompt: 0, completion: 0 };

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function writeConfig(name, upstreams, extra = '') {
  const p = path.join(dir, name);
  writeFileSync(p, `
listen: {host: 127.0.0.1, port: 0}
data_dir: ${dir}/data-${name}
health_check: {interval_ms: 600000}
retry: {max_attempts: 3}
breaker: {min_requests: 2, error_rate: 0.5, sleep_window_ms: 600000}
pools:
  main:
    policy: round_robin
    upstreams:
${upstreams.map((u) => `      - {url: ${u}, model: tiny}`).join('\n')}
models:
  - {name: deepseek-chat, aliases: [ds], pool: main}
  - {name: other-model, pool: main}
prices:
  deepseek-chat: {currency: CNY, input_per_1k: "0.1", output_per_1k: "0.2"}
tenants:
  limited: {requests_per_minute: 3}
  tpm: {tokens_per_minute: 100}
  single: {max_concurrent: 1}
  budget: {monthly_tokens: 30}
  wide: {tokens_per_minute: 1000}
${extra}
`);
  return p;
}

// A gateway of its own (config `name` in front of `upstreams`) and a key of `tenant` for it.
async function ownGateway(name, upstreams, tenant, extra = '') {
  const cfg = writeConfig(name, upstreams, extra);
  const key = fathom('keys', 'create', '--config', cfg, '--tenant', tenant);
  return { cfg, key, g: await Gateway.start(cfg) };
}

const chat = (content, extra = {}) => ({
  model: 'ds', messages: [{ role: 'user', content }], temperature: 0, max_tokens: 6, ...extra,
});

before(async () => {
  upstreamA = await startServer({ args: ['--served-model-name', 'tiny'] });
  upstreamB = await startServer({ args: ['--served-model-name', 'tiny'] });
  configPath = writeConfig('gw.yaml', [upstreamA.url, upstreamB.url]);
  keys.acme = fathom('keys', 'create', '--config', configPath, '--tenant', 'acme');
  keys.limited = fathom('keys', 'create', '--config', configPath, '--tenant', 'limited');
  keys.other = fathom('keys', 'create', '--config', configPath, '--tenant', 'acme', '--models', 'other-model');
  keys.revoked = fathom('keys', 'create', '--config', configPath, '--tenant', 'acme');
  const id = fathom('keys', 'list', '--config', configPath).split('\n').filter((l) => l.includes('acme')).pop().split(/\s+/)[0];
  fathom('keys', 'revoke', '--config', configPath, '--id', id);
  gateway = await Gateway.start(configPath);
});

after(async () => {
  await gateway?.stop();
  // A server killed by a signal has no exit code: stop() only those still running.
  for (const u of [upstreamA, upstreamB]) if (u && u.proc.exitCode === null && u.proc.signalCode === null) await u.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('keys: none, unknown or revoked -> 401; a model the key may not use -> 403', async () => {
  const none = await gateway.post('/v1/chat/completions', chat('hi'));
  assert.equal(none.status, 401);
  assert.equal(none.json.error.type, 'authentication_error');
  assert.equal((await gateway.post('/v1/chat/completions', chat('hi'), 'fk-not-a-key')).status, 401);
  const revoked = await gateway.post('/v1/chat/completions', chat('hi'), keys.revoked);
  assert.equal(revoked.status, 401);
  assert.match(revoked.json.error.message, /revoked/);
  const forbidden = await gateway.post('/v1/chat/completions', chat('hi'), keys.other);
  assert.equal(forbidden.status, 403);
  assert.equal(forbidden.json.error.type, 'permission_error');
  const unknown = await gateway.post('/v1/chat/completions', { ...chat('hi'), model: 'gpt-9' }, keys.acme);
  assert.equal(unknown.status, 404);
});

test('malformed fields get a 400 naming the field, and release the tenant\'s concurrency slot', async () => {
  // One request at a time for this tenant: a leaked slot would turn the valid requests at the
  // end into 429s. Every answer must arrive (a hang fails on the timeout).
  const single = fathom('keys', 'create', '--config', configPath, '--tenant', 'single');
  const inFlight = () => gateway.metric('fathom_gateway_requests_in_flight', '');
  const before = await inFlight();
  const bad = [
    [{ stream: 'yes' }, 'stream'],
    [{ stream: 1 }, 'stream'],
    [{ stream: {} }, 'stream'],
    [{ stream: true, stream_options: 'x' }, 'stream_options'],
    [{ stream: true, stream_options: [] }, 'stream_options'],
    [{ stream: true, stream_options: { include_usage: 'yes' } }, 'stream_options.include_usage'],
    [{ stream_options: { include_usage: true } }, 'stream_options'],
    [{ max_tokens: 'ten' }, 'max_tokens'],
    [{ max_tokens: 0 }, 'max_tokens'],
    [{ max_tokens: -5 }, 'max_tokens'],
    [{ max_tokens: 1.5 }, 'max_tokens'],
    [{ max_tokens: [] }, 'max_tokens'],
    [{ max_completion_tokens: 'x' }, 'max_completion_tokens'],
    [{ max_tokens: 18446744073709551615 }, 'max_tokens'],
    [{ model: 42 }, 'model'],
    [{ model: null }, 'model'],
    [{ model: ['ds'] }, 'model'],
    // Fields only the upstream reads: its 400 (naming the field) passes through.
    [{ temperature: 'hot' }, 'temperature'],
    [{ messages: 'hi' }, 'messages'],
  ];
  for (const [extra, param] of bad) {
    const body = { ...chat('hi'), ...extra };
    const res = await fetch(gateway.url + '/v1/chat/completions', {
      method: 'POST', signal: AbortSignal.timeout(10000),
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${single}` },
      body: JSON.stringify(body),
    });
    const j = await res.json();
    assert.equal(res.status, 400, `${JSON.stringify(extra)}: ${JSON.stringify(j)}`);
    assert.equal(j.error.type === 'invalid_request_error' || j.error.type === 'upstream_error', true, JSON.stringify(j));
    assert.match(`${j.error.param ?? ''} ${j.error.message}`, new RegExp(param.replace('.', '\\.')), JSON.stringify(extra));
    if (j.error.type === 'invalid_request_error') assert.equal(j.error.param, param, JSON.stringify(j));
  }
  // The Responses API's fields, read by the gateway (max_output_tokens, stream) or passed on.
  for (const [extra, param] of [[{ max_output_tokens: 'x' }, 'max_output_tokens'], [{ max_output_tokens: 0 }, 'max_output_tokens'],
    [{ stream: 'yes' }, 'stream'], [{ input: 5 }, 'input'], [{ previous_response_id: 'resp_1' }, 'previous_response_id']]) {
    const r = await gateway.post('/v1/responses', { model: 'ds', input: 'hi', max_output_tokens: 2, ...extra }, single);
    assert.equal(r.status, 400, `${JSON.stringify(extra)}: ${r.text}`);
    assert.match(`${r.json.error.param ?? ''} ${r.json.error.message}`, new RegExp(param), r.text);
  }
  // null means "not given" (the spec's nullable fields), for stream and stream_options alike.
  const nulls = await gateway.post('/v1/chat/completions', chat('hi', { stream: null, stream_options: null, max_tokens: null }), single);
  assert.equal(nulls.status, 200, nulls.text);
  // Not a JSON object at all.
  for (const raw of ['{"model": ', '[1]', '"ds"', 'null', '{"model":"ds","max_tokens":1e400}']) {
    const res = await fetch(gateway.url + '/v1/chat/completions', {
      method: 'POST', signal: AbortSignal.timeout(10000),
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${single}` }, body: raw,
    });
    assert.equal(res.status, 400, raw);
    assert.equal((await res.json()).error.type, 'invalid_request_error');
  }
  // The slot is free: a stream and a plain request, one after the other, are both admitted.
  const stream = await gateway.post('/v1/chat/completions', chat('still here', { stream: true }), single);
  assert.equal(stream.status, 200, stream.text);
  assert.equal((await gateway.post('/v1/chat/completions', chat('and here'), single)).status, 200);
  // The last answer's exchange is counted out just after its final bytes are written: wait for it.
  // The value that ended the wait is the one asserted: a second read could see another exchange
  // that happens to be in flight at that moment (seen once in a full ctest run under load).
  let now = await inFlight();
  for (let i = 0; i < 500 && now !== before; i++) {
    await new Promise((r) => setTimeout(r, 20));
    now = await inFlight();
  }
  assert.equal(now, before);
});

test('models: the list has created; retrieve answers a name or alias the key may use, else 404', async () => {
  const get = (p, key) => fetch(gateway.url + p, { headers: { Authorization: `Bearer ${key}` } });
  const list = await (await get('/v1/models', keys.acme)).json();
  assert.ok(list.data.length >= 2);
  for (const m of list.data) assert.equal(typeof m.created, 'number', JSON.stringify(m));
  const one = await get('/v1/models/ds', keys.acme);
  assert.equal(one.status, 200);
  assert.deepEqual(await one.json(), list.data.find((m) => m.id === 'ds'));
  assert.equal((await get('/v1/models/gpt-9', keys.acme)).status, 404);
  assert.equal((await get('/v1/models/deepseek-chat', keys.other)).status, 404);  // not this key's model
  assert.equal((await get('/v1/models/ds', 'fk-nope')).status, 401);
});

test('cors.allowed_origins: preflight before auth; answers carry Allow-Origin', async () => {
  const { key, g } = await ownGateway('cors.yaml', [upstreamA.url], 'acme', 'cors: {allowed_origins: ["*"]}');
  try {
    const pre = await fetch(g.url + '/v1/chat/completions', {
      method: 'OPTIONS', headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'POST' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'https://app.example');
    const res = await g.fetch('/v1/chat/completions', chat('hi', { stream: true }), key, { Origin: 'https://app.example' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://app.example');
    await res.text();
  } finally {
    await g.stop();
  }
});

test('a key revoked with `fathom keys revoke` while the gateway runs is refused at once', async () => {
  const key = fathom('keys', 'create', '--config', configPath, '--tenant', 'acme');
  const ok = await gateway.post('/v1/chat/completions', chat('before the revoke', { max_tokens: 1 }), key);
  assert.equal(ok.status, 200, ok.text);  // the gateway now has the key in its cache
  billed.requests += 1;
  billed.prompt += ok.json.usage.prompt_tokens;
  billed.completion += ok.json.usage.completion_tokens;
  const id = fathom('keys', 'list', '--config', configPath).split('\n').filter((l) => l.includes('acme')).pop().split(/\s+/)[0];
  fathom('keys', 'revoke', '--config', configPath, '--id', id);
  const refused = await gateway.post('/v1/chat/completions', chat('after the revoke', { max_tokens: 1 }), key);
  assert.equal(refused.status, 401, refused.text);
  assert.match(refused.json.error.message, /revoked/);
});

test('every answer gets a structured access-log line, without the key or the prompt', async () => {
  const ok = await gateway.post('/v1/chat/completions', chat('a secret prompt 7731', { max_tokens: 1 }), keys.acme);
  assert.equal(ok.status, 200, ok.text);
  billed.requests += 1;
  billed.prompt += ok.json.usage.prompt_tokens;
  billed.completion += ok.json.usage.completion_tokens;
  const id = ok.headers.get('x-request-id');
  assert.match(id, /^[0-9a-f]{12}-[0-9a-f]{8}-[0-9a-f]{12}$/);
  const [line] = await gateway.accessLines((l) => l.request_id === id);
  assert.equal(line.status, 200);
  assert.equal(line.prompt_tokens, ok.json.usage.prompt_tokens);
  assert.equal(line.completion_tokens, ok.json.usage.completion_tokens);
  assert.equal(line.path, '/v1/chat/completions');
  assert.equal(line.tenant, 'acme');
  assert.equal(line.model, 'deepseek-chat');
  assert.match(line.upstream, /^main\/127\.0\.0\.1:\d+$/);
  assert.ok(line.duration_ms >= line.upstream_ms && line.upstream_ms > 0, JSON.stringify(line));
  assert.match(line.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const [refused] = await gateway.accessLines((l) => l.status === 401 && /invalid API key/.test(l.error ?? ''));
  assert.equal(refused.key_id, '');
  assert.ok(!gateway.output.includes('secret prompt'), 'the prompt is never logged');
  for (const k of Object.values(keys)) assert.ok(!gateway.output.includes(k), 'no key is ever logged');
});

test('upstream connections are kept alive and reused', async () => {
  const reused = () => gateway.metric('fathom_gateway_upstream_requests_reused_total', '');
  const before = await reused();
  for (let i = 0; i < 6; ++i) {
    const r = await gateway.post('/v1/chat/completions', chat(`keep-alive ${i}`, { max_tokens: 1 }), keys.acme);
    assert.equal(r.status, 200, r.text);
    billed.requests += 1;
    billed.prompt += r.json.usage.prompt_tokens;
    billed.completion += r.json.usage.completion_tokens;
  }
  // Six requests over one client connection, round robin over two upstreams: at most two new
  // upstream connections.
  assert.ok((await reused()) - before >= 4, `reused ${(await reused()) - before} of 6`);
});

test('a proxied completion equals the upstream answer and is billed from its usage', async () => {
  const direct = await upstreamA.post('/v1/chat/completions', { ...chat('Hello!'), model: 'tiny' });
  const via = await gateway.post('/v1/chat/completions', { ...chat('Hello!'), seed: undefined, temperature: 0.0, user: 'x' }, keys.acme);
  assert.equal(via.status, 200, via.text);
  assert.equal(via.json.choices[0].message.content, direct.json.choices[0].message.content);
  assert.deepEqual(via.json.usage, direct.json.usage);
  billed.requests += 1;
  billed.prompt += via.json.usage.prompt_tokens;
  billed.completion += via.json.usage.completion_tokens;
});

test('structured output passes through the gateway: every sample validates, and it is billed', async () => {
  const schema = { type: 'object', properties: { city: { enum: ['Oslo', 'Lima'] }, rank: { type: 'integer', minimum: 1, maximum: 9 } },
                   required: ['city', 'rank'], additionalProperties: false };
  const validate = new Ajv({ strict: false }).compile(schema);
  const via = await gateway.post('/v1/chat/completions', {
    ...chat('Pick a city'), temperature: 1, seed: 5, n: 4, max_tokens: 64,
    response_format: { type: 'json_schema', json_schema: { name: 'city', strict: true, schema } },
  }, keys.acme);
  assert.equal(via.status, 200, via.text);
  for (const c of via.json.choices) {
    assert.equal(c.finish_reason, 'stop');
    assert.ok(validate(JSON.parse(c.message.content)), c.message.content);
  }
  billed.requests += 1;
  billed.prompt += via.json.usage.prompt_tokens;
  billed.completion += via.json.usage.completion_tokens;
  const refused = await gateway.post('/v1/chat/completions', { ...chat('x'), guided_regex: '(a)\\1' }, keys.acme);
  assert.equal(refused.status, 400, refused.text);
  assert.match(refused.json.error.message, /backreferences/);
});

test('streams pass through event by event; usage is billed and only shown when asked for', async () => {
  const body = chat('Tell me something', { max_tokens: 8 });
  const plain = await gateway.post('/v1/chat/completions', body, keys.acme);
  for (const includeUsage of [false, true]) {
    const res = await gateway.fetch('/v1/chat/completions', { ...body, stream: true, ...(includeUsage ? { stream_options: { include_usage: true } } : {}) }, keys.acme);
    assert.equal(res.status, 200);
    const events = await readSse(res);
    assert.equal(events.at(-1), '[DONE]');
    const text = events.filter((e) => e !== '[DONE]' && e.choices?.length).map((e) => e.choices[0].delta.content ?? '').join('');
    assert.equal(text, plain.json.choices[0].message.content);
    const usage = events.filter((e) => e !== '[DONE]' && e.usage);
    assert.equal(usage.length, includeUsage ? 1 : 0);
    if (includeUsage) assert.deepEqual(usage[0].usage, plain.json.usage);
  }
  billed.requests += 3;
  billed.prompt += 3 * plain.json.usage.prompt_tokens;
  billed.completion += 3 * plain.json.usage.completion_tokens;
});

test('a requests-per-minute limit answers 429 with Retry-After at the right count', async () => {
  const statuses = [];
  let retryAfter = null;
  for (let i = 0; i < 5; ++i) {
    const r = await gateway.post('/v1/chat/completions', chat(`n${i}`, { max_tokens: 1 }), keys.limited);
    statuses.push(r.status);
    if (r.status === 429) { retryAfter = r.headers.get('retry-after'); assert.equal(r.json.error.code, 'rate_limit_exceeded'); }
  }
  assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
  assert.ok(Number(retryAfter) >= 1, `Retry-After ${retryAfter}`);
});

test('tokens-per-minute, concurrency and monthly budget limits answer 429 at the right count', async () => {
  const key = (tenant) => fathom('keys', 'create', '--config', configPath, '--tenant', tenant);
  const limitOf = (r) => { assert.equal(r.status, 429, r.text); assert.ok(Number(r.headers.get('retry-after')) >= 1); return r.json.error.message; };

  // 100 tokens a minute. A request is pre-charged its prompt estimate + max_tokens (~80), then
  // settled to its real usage (prompt + exactly 60 completion tokens): the second does not fit.
  const tpm = key('tpm');
  const long = chat('count', { max_tokens: 60, ignore_eos: true });
  const first = await gateway.post('/v1/chat/completions', long, tpm);
  assert.equal(first.status, 200, first.text);
  assert.equal(first.json.usage.completion_tokens, 60);
  assert.match(limitOf(await gateway.post('/v1/chat/completions', long, tpm)), /tokens per minute/);

  // One request at a time: while one waits 400 ms for a slow upstream, a second is refused;
  // once the first is answered, the next is admitted.
  const slow = await slowUpstream(400);
  const { key: single, g } = await ownGateway('single.yaml', [slow.url], 'single');
  try {
    const first = g.post('/v1/chat/completions', chat('hold on', { stream: true }), single);
    await slow.arrived;  // the gateway admitted the first and passed it on
    assert.match(limitOf(await g.post('/v1/chat/completions', chat('me too', { stream: true }), single)), /concurrent requests/);
    assert.equal((await first).status, 200);
    assert.equal((await g.post('/v1/chat/completions', chat('now me', { stream: true }), single)).status, 200);
  } finally {
    slow.close();
    await g.stop();
  }

  // 30 tokens a month: the first request spends them, the next is refused until next month.
  const budget = key('budget');
  const spend = await gateway.post('/v1/chat/completions', chat('spend it', { max_tokens: 30, ignore_eos: true }), budget);
  assert.equal(spend.status, 200, spend.text);
  assert.ok(spend.json.usage.total_tokens >= 30);
  assert.match(limitOf(await gateway.post('/v1/chat/completions', chat('more', { max_tokens: 1 }), budget)), /monthly token budget/);
});

test('beyond the context window with a huge max_tokens: the upstream\'s 400, not a 429, and nothing is spent', async () => {
  // 1,000 tokens a minute and a 256-token context window: the pre-charge is capped at the
  // window the gateway learned from the upstream's model list, so each request is admitted and
  // refused by the server, and its pre-charge comes back.
  const wide = fathom('keys', 'create', '--config', configPath, '--tenant', 'wide');
  for (let i = 0; i < 5; ++i) {
    const r = await gateway.post('/v1/chat/completions', chat('too long', { max_tokens: 1e9 }), wide);
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.error.message, /maximum context length is 256/);
    const resp = await gateway.post('/v1/responses', { model: 'ds', input: 'too long', max_output_tokens: 1e9 }, wide);
    assert.equal(resp.status, 400, resp.text);
  }
  assert.equal((await gateway.post('/v1/chat/completions', chat('fits', { max_tokens: 2 }), wide)).status, 200);
});

test('the Responses API through the gateway: proxied, streamed with its event lines, billed from its usage', async () => {
  const key = fathom('keys', 'create', '--config', configPath, '--tenant', 'responses');
  const body = { model: 'ds', input: 'Hello!', temperature: 0, max_output_tokens: 5 };
  const r = await gateway.post('/v1/responses', body, key);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.object, 'response');
  assert.equal(r.json.usage.output_tokens, 5);
  const direct = await upstreamA.post('/v1/responses', { ...body, model: 'tiny' });
  assert.equal(r.json.output[0].content[0].text, direct.json.output[0].content[0].text);

  const res = await gateway.fetch('/v1/responses', { ...body, stream: true }, key);
  assert.equal(res.status, 200);
  const blocks = (await res.text()).trim().split('\n\n').filter((b) => !b.startsWith(':'));
  const events = blocks.map((b) => {
    const [eventLine, dataLine] = b.split('\n');
    const data = JSON.parse(dataLine.slice('data: '.length));
    assert.equal(eventLine, `event: ${data.type}`);
    return data;
  });
  assert.equal(events.at(-1).type, 'response.incomplete');  // 5 tokens cut the answer
  assert.equal(events.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join(''),
    r.json.output[0].content[0].text);
  const usage = events.at(-1).response.usage;

  let m = null;
  for (let i = 0; i < 200 && !(m?.completion_tokens >= 10); ++i) {
    m = JSON.parse(fathom('billing', 'report', '--config', configPath, '--tenant', 'responses', '--month',
      new Date().toISOString().slice(0, 7), '--format', 'json')).models['deepseek-chat'];
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal(m.requests, 2);
  assert.equal(m.prompt_tokens, r.json.usage.input_tokens + usage.input_tokens);
  assert.equal(m.completion_tokens, 10);
});

test('billing report totals equal the usage the upstreams reported', async () => {
  const month = new Date().toISOString().slice(0, 7);
  // The ledger is written asynchronously: poll (bounded) until every acknowledged row is there.
  let report = null;
  for (let i = 0; i < 200; ++i) {
    report = JSON.parse(fathom('billing', 'report', '--config', configPath, '--tenant', 'acme', '--month', month, '--format', 'json'));
    if (report.models['deepseek-chat']?.completion_tokens >= billed.completion) break;
    await new Promise((r) => setImmediate(r));
  }
  const m = report.models['deepseek-chat'];
  assert.equal(m.prompt_tokens, billed.prompt);
  assert.equal(m.completion_tokens, billed.completion);
  const expectedNanos = billed.prompt * 100000 + billed.completion * 200000;
  assert.equal(m.cost_nanos, expectedNanos);
  const csv = fathom('billing', 'report', '--config', configPath, '--tenant', 'acme', '--month', month);
  assert.match(csv, /acme,\d{4}-\d{2},TOTAL,/);
  assert.match(fathom('audit', 'verify', path.join(dir, 'data-gw.yaml', 'audit.jsonl')), /chain intact/);
});

test('a dead upstream opens its breaker and traffic fails over to the other', async () => {
  await upstreamA.stop('SIGKILL');
  const portA = new URL(upstreamA.url).port;
  const breakerA = () => gateway.metric('fathom_gateway_upstream_breaker_state', `:${portA}"`);
  // Every request still succeeds (retried on B) while A's failures push its error rate over
  // the threshold; A's earlier successes in the rolling window decide how many that takes.
  for (let i = 0; i < 40 && (await breakerA()) !== 1; ++i) {
    const r = await gateway.post('/v1/chat/completions', chat(`failover ${i}`, { max_tokens: 2 }), keys.acme);
    assert.equal(r.status, 200, r.text);
  }
  assert.equal(await breakerA(), 1);
  const portB = new URL(upstreamB.url).port;
  assert.equal(await gateway.metric('fathom_gateway_upstream_breaker_state', `:${portB}"`), 0);
  assert.ok((await gateway.metric('fathom_gateway_retries_total', '')) >= 1);
});

test('two gateway replicas sharing Redis enforce one requests-per-minute limit and share the response cache', { skip: !existsSync('/usr/bin/redis-server') && 'redis-server is not installed (scripts/setup.sh installs it)' }, async () => {
  const port = await freePort();
  const redis = spawn('/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis not ready:\n${log}`)), 20000);
    redis.stdout.on('data', (c) => { log += c; if (/Ready to accept connections/.test(log)) { clearTimeout(timer); resolve(); } });
  });
  try {
    const cfg = writeConfig('shared.yaml', [upstreamB.url], `redis: {host: 127.0.0.1, port: ${port}}\n`).replace(/shared.yaml$/, 'shared.yaml');
    const key = fathom('keys', 'create', '--config', cfg, '--tenant', 'limited');
    const g1 = await Gateway.start(cfg);
    const g2 = await Gateway.start(cfg);
    try {
      const statuses = [];
      for (let i = 0; i < 6; ++i) statuses.push((await (i % 2 ? g2 : g1).post('/v1/chat/completions', chat(`r${i}`, { max_tokens: 1 }), key)).status);
      assert.deepEqual(statuses.filter((s) => s === 200).length, 3, JSON.stringify(statuses));
      assert.deepEqual(statuses.slice(3), [429, 429, 429]);
      // The response cache lives in the same Redis: what one replica stored, the other serves.
      const cacheKey = fathom('keys', 'create', '--config', cfg, '--tenant', 'cached');
      const body = chat('cache me', { max_tokens: 3 });
      const first = await g1.post('/v1/chat/completions', body, cacheKey);
      assert.equal(first.status, 200, first.text);
      assert.equal(first.headers.get('x-fathom-cache'), null);
      const second = await g2.post('/v1/chat/completions', body, cacheKey);
      assert.equal(second.status, 200, second.text);
      assert.equal(second.headers.get('x-fathom-cache'), 'hit');
      assert.deepEqual(second.json, first.json);
    } finally {
      await g1.stop();
      await g2.stop();
    }
  } finally {
    redis.kill('SIGTERM');
    await once(redis, 'exit');
  }
});

// ---- dying upstreams, dying gateways, reloads, PostgreSQL ----

const month = () => new Date().toISOString().slice(0, 7);
const report = (cfg, tenant) =>
  JSON.parse(fathom('billing', 'report', '--config', cfg, '--tenant', tenant, '--month', month(), '--format', 'json'));

test('a stream cut by a dying upstream ends with an error event and its partial usage is billed', async () => {
  const victim = await startServer({ args: ['--served-model-name', 'tiny'] });
  const { cfg, key, g } = await ownGateway('cut.yaml', [victim.url], 'cut');
  try {
    const res = await g.fetch('/v1/chat/completions', chat('a long story', { max_tokens: 220, ignore_eos: true, stream: true }), key);
    assert.equal(res.status, 200);
    let content = 0;
    const events = await readSse(res, (ev) => {
      if (ev !== '[DONE]' && ev.choices?.length && ++content === 3) {
        victim.proc.kill('SIGSTOP');  // freeze it at once (no more tokens), then kill it
        victim.proc.kill('SIGKILL');
      }
    });
    const last = events.at(-1);
    assert.notEqual(last, '[DONE]');
    assert.equal(last.error?.code, 'upstream_error', JSON.stringify(last));
    assert.match(last.error.message, /failed mid-stream/);
    const received = events.filter((e) => e !== '[DONE]' && e.choices?.length).length;
    assert.ok(received >= 3 && received < 220, `received ${received} content events`);
    // The error event is sent only after the ledger row committed: no polling needed.
    const r = report(cfg, 'cut');
    const m = r.models['deepseek-chat'];
    assert.equal(m.requests, 1);
    assert.equal(m.completion_tokens, received, 'billed one token per content chunk that reached the client');
    assert.ok(m.prompt_tokens > 0);
  } finally {
    if (victim.proc.exitCode === null && victim.proc.signalCode === null) await victim.stop('SIGKILL');
    await g.stop();
  }
});

// ledger_sync full fsyncs each group commit; normal leaves the commit in the OS page cache,
// which a killed process cannot lose either.
for (const sync of ['full', 'normal']) test(`SIGKILL of the gateway under load loses no acknowledged ledger row (ledger_sync: ${sync})`, async () => {
  const { cfg, key, g } = await ownGateway(`kill-${sync}.yaml`, [upstreamB.url], 'load', `ledger_sync: ${sync}\n`);
  const acked = { requests: 0, prompt: 0, completion: 0 };
  let killed = false;
  const worker = async (w) => {
    for (let i = 0; !killed; ++i) {
      try {
        const r = await g.post('/v1/chat/completions', chat(`load ${w} ${i}`, { max_tokens: 3 + (i % 3), stream: i % 2 === 1 }), key);
        if (r.status !== 200) continue;
        if (i % 2 === 1) {  // a stream is acknowledged when its [DONE] arrived
          if (r.text.trimEnd().endsWith('data: [DONE]')) acked.requests += 1;
          continue;
        }
        acked.requests += 1;
        acked.prompt += r.json.usage.prompt_tokens;
        acked.completion += r.json.usage.completion_tokens;
      } catch { /* the gateway died under this request: not acknowledged */ }
    }
  };
  const workers = Array.from({ length: 32 }, (_, w) => worker(w));
  // Kill once a good number of requests were acknowledged (bounded by the test runner's timeout).
  while (acked.requests < 150) await new Promise((r) => setImmediate(r));
  g.proc.kill('SIGKILL');
  killed = true;
  await once(g.proc, 'exit');
  await Promise.all(workers);
  const r = report(cfg, 'load');
  const m = r.models['deepseek-chat'];
  assert.ok(m.requests >= acked.requests, `ledger has ${m.requests} rows, ${acked.requests} were acknowledged`);
  assert.ok(m.completion_tokens >= acked.completion, `ledger ${m.completion_tokens} completion tokens < acknowledged ${acked.completion}`);
  assert.ok(m.prompt_tokens >= acked.prompt);
});

// An OpenAI-compatible upstream that takes its time: the response head comes after
// `headDelayMs` (then two content chunks and the usage chunk), or never when headDelayMs < 0.
// `arrived` resolves when the first request reached it.
async function slowUpstream(headDelayMs) {
  const http = await import('node:http');
  let arrive;
  const arrived = new Promise((resolve) => { arrive = resolve; });
  const server = http.createServer((req, res) => {
    if (req.url.endsWith('/health')) return res.end('{"status":"ok"}');
    if (req.url.endsWith('/v1/models')) return res.end('{"object":"list","data":[]}');
    req.resume();
    arrive();
    if (headDelayMs < 0) return;  // holds the request until the client goes
    const timer = setTimeout(() => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = (delta, extra = {}) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'tiny', choices: [{ index: 0, delta, finish_reason: null }], ...extra })}\n\n`;
      res.write(chunk({ role: 'assistant', content: 'slow' }));
      res.write(chunk({ content: ' answer' }));
      res.write(`data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'tiny', choices: [], usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } })}\n\n`);
      res.end('data: [DONE]\n\n');
    }, headDelayMs);
    res.on('close', () => clearTimeout(timer));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, arrived, close: () => { server.closeAllConnections(); server.close(); } };
}

test('a stream waiting for its first token gets its head and SSE keep-alive comments', async () => {
  const slow = await slowUpstream(400);
  const { cfg, key, g } = await ownGateway('slow.yaml', [slow.url], 'slow', 'timeouts: {keepalive_comment_ms: 50}\n');
  try {
    const res = await g.fetch('/v1/chat/completions', chat('take your time', { stream: true }), key);
    assert.equal(res.status, 200);  // the head did not wait for the upstream's
    assert.equal(res.headers.get('x-accel-buffering'), 'no');
    const text = await res.text();
    const firstData = text.indexOf('data:');
    const comments = text.slice(0, firstData).match(/^: keep-alive$/gm) ?? [];
    assert.ok(comments.length >= 3, `${comments.length} keep-alive comments before the first event:\n${text}`);
    assert.match(text, /"content":"slow"/);
    assert.ok(text.trimEnd().endsWith('data: [DONE]'), text);
    assert.equal(report(cfg, 'slow').models['deepseek-chat'].completion_tokens, 2);
  } finally {
    slow.close();
    await g.stop();
  }
});

test('a thousand concurrent streams all pass through and are billed once each', async () => {
  // An upstream that answers every stream's head at once but holds its content until all n
  // requests have arrived (so all n streams are open through the gateway at the same time),
  // then streams 8 content chunks 10 ms apart, the usage and [DONE].
  const n = 1000;
  const http = await import('node:http');
  const held = [];
  let inFlightAtBarrier = 0;
  let g;
  let onProbed;
  const probed = new Promise((resolve) => { onProbed = resolve; });
  const stream = (res) => {
    let sent = 0;
    const chunk = (o) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'tiny', ...o })}\n\n`;
    const timer = setInterval(() => {
      if (sent < 8) {
        res.write(chunk({ choices: [{ index: 0, delta: { content: `t${sent++}` }, finish_reason: null }] }));
        return;
      }
      clearInterval(timer);
      res.write(chunk({ choices: [], usage: { prompt_tokens: 4, completion_tokens: 8, total_tokens: 12 } }));
      res.end('data: [DONE]\n\n');
    }, 10);
    res.on('close', () => clearInterval(timer));
  };
  const upstream = http.createServer((req, res) => {
    if (req.url.endsWith('/health')) return res.end('{"status":"ok"}');
    if (req.url.endsWith('/v1/models')) {
      res.end('{"object":"list","data":[]}');
      return onProbed();  // the gateway's first health check is over
    }
    req.resume();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.flushHeaders();
    held.push(res);
    if (held.length === n) {
      g.metric('fathom_gateway_requests_in_flight', '').then((v) => {
        inFlightAtBarrier = v;
        held.forEach(stream);
      });
    }
  });
  await new Promise((resolve) => upstream.listen(0, '127.0.0.1', 4096, resolve));
  const cfg = writeConfig('many.yaml', [`http://127.0.0.1:${upstream.address().port}`]);
  const key = fathom('keys', 'create', '--config', cfg, '--tenant', 'many');
  g = await Gateway.start(cfg);
  try {
    await probed;  // not racing the 1000 requests against it (a slow probe is a failed one)
    const one = async (i) => {
      const res = await g.fetch('/v1/chat/completions', chat(`stream ${i}`, { stream: true }), key);
      if (res.status !== 200) assert.fail(`stream ${i}: HTTP ${res.status}: ${await res.text()}\n${g.output.split('\n').filter((l) => !l.startsWith('{"')).slice(-20).join('\n')}`);
      const text = await res.text();
      assert.equal((text.match(/"content":"t\d"/g) ?? []).length, 8, text);
      assert.ok(text.trimEnd().endsWith('data: [DONE]'), text);
    };
    await Promise.all(Array.from({ length: n }, (_, i) => one(i)));
    assert.ok(inFlightAtBarrier >= n, `the gateway had ${inFlightAtBarrier} requests in flight, not ${n}`);
    const m = report(cfg, 'many').models['deepseek-chat'];
    assert.equal(m.requests, n);
    assert.equal(m.completion_tokens, 8 * n);
  } finally {
    upstream.closeAllConnections();
    upstream.close();
    await g.stop();
  }
});

test('a request running past timeouts.request_ms gets a 504 in the OpenAI error shape', async () => {
  const stuck = await slowUpstream(-1);
  const { cfg, key, g } = await ownGateway('stuck.yaml', [stuck.url], 'stuck', 'timeouts: {request_ms: 300}\n');
  try {
    const r = await g.post('/v1/chat/completions', chat('never answered'), key);
    assert.equal(r.status, 504, r.text);
    assert.equal(r.json.error.code, 'timeout');
    assert.match(r.json.error.message, /timeouts.request_ms \(300 ms\)/);
  } finally {
    stuck.close();
    await g.stop();
  }
});

test('an upstream event that never ends is cut at 16 MiB with an error event, not buffered for ever', async () => {
  const http = await import('node:http');
  const endless = http.createServer((req, res) => {
    if (req.url.endsWith('/health')) return res.end('{"status":"ok"}');
    if (req.url.endsWith('/v1/models')) return res.end('{"object":"list","data":[]}');
    req.resume();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: {"choices":[{"index":0,"delta":{"content":"');
    const mib = 'x'.repeat(1 << 20);
    let sent = 0;
    const more = () => { while (sent < 20 && res.write(mib)) sent++; if (sent < 20) res.once('drain', () => { sent++; more(); }); };
    more();
    res.on('close', () => {});
  });
  await new Promise((resolve) => endless.listen(0, '127.0.0.1', resolve));
  const { key, g } = await ownGateway('endless.yaml', [`http://127.0.0.1:${endless.address().port}`], 'endless');
  try {
    const res = await g.fetch('/v1/chat/completions', chat('go', { stream: true }), key);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /sent an event over 16 MiB/);
    assert.ok(text.length < 1 << 20, 'nothing of the endless event was passed on');
  } finally {
    endless.closeAllConnections();
    endless.close();
    await g.stop();
  }
});

test('SIGHUP reloads a new alias and tenant limit without dropping an in-flight stream', async () => {
  const { cfg, key, g } = await ownGateway('hup.yaml', [upstreamB.url], 'hup');
  try {
    const listModels = async () => (await (await fetch(g.url + '/v1/models', { headers: { Authorization: `Bearer ${key}` } })).json()).data.map((m) => m.id);
    assert.ok(!(await listModels()).includes('ds-new'));
    assert.equal((await g.post('/v1/chat/completions', { ...chat('x'), model: 'ds-new' }, key)).status, 404);
    const res = await g.fetch('/v1/chat/completions', chat('keep streaming', { max_tokens: 40, ignore_eos: true, stream: true, stream_options: { include_usage: true } }), key);
    assert.equal(res.status, 200);
    const reader = res.body[Symbol.asyncIterator]();
    const first = await reader.next();  // the stream is open; the rest waits unread
    assert.ok(!first.done);
    let text = new TextDecoder().decode(first.value);

    const yaml = (await import('node:fs')).readFileSync(cfg, 'utf8')
      .replace('aliases: [ds]', 'aliases: [ds, ds-new]')
      .replace('tenants:\n', 'tenants:\n  hup: {requests_per_minute: 2}\n');
    writeFileSync(cfg, yaml);
    g.proc.kill('SIGHUP');
    let models = [];
    for (let i = 0; i < 2000 && !models.includes('ds-new'); ++i) {
      models = await listModels();
      if (!models.includes('ds-new')) await new Promise((r) => setImmediate(r));
    }
    assert.ok(models.includes('ds-new'), 'the new alias is served after SIGHUP');

    for (let n = await reader.next(); !n.done; n = await reader.next()) text += new TextDecoder().decode(n.value);
    assert.ok(text.trimEnd().endsWith('data: [DONE]'), 'the in-flight stream finished');
    const usage = text.split('\n\n').filter((e) => e.startsWith('data: {')).map((e) => JSON.parse(e.slice(6))).filter((e) => e.usage);
    assert.equal(usage.at(-1)?.usage.completion_tokens, 40, 'the whole stream arrived');

    // The new tenant limit applies from the reload on: 2 per minute.
    const statuses = [];
    for (let i = 0; i < 4; ++i) statuses.push((await g.post('/v1/chat/completions', { ...chat(`h${i}`, { max_tokens: 1 }), model: 'ds-new' }, key)).status);
    assert.deepEqual(statuses, [200, 200, 429, 429]);
  } finally {
    await g.stop();
  }
});

const pgBin = '/usr/lib/postgresql/15/bin';
test('two replicas sharing Redis and PostgreSQL bill every request once', { skip: (!existsSync(`${pgBin}/postgres`) || !existsSync('/usr/bin/redis-server')) && 'postgres or redis-server not installed (scripts/setup.sh installs them)' }, async () => {
  // A private PostgreSQL: as root, initdb and postgres run as the `postgres` user.
  const pgDir = mkdtempSync(path.join(os.tmpdir(), 'fathom-pg-'));
  const asPg = (bin, args) => (process.getuid() === 0 ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args]);
  if (process.getuid() === 0) execFileSync('chown', ['postgres', pgDir]);
  execFileSync(...asPg(`${pgBin}/initdb`, ['-D', `${pgDir}/data`, '-A', 'trust', '-U', 'postgres', '--no-sync', '--locale=C', '-E', 'UTF8']), { stdio: 'ignore' });
  const pgPort = await freePort();
  const pg = spawn(...asPg(`${pgBin}/postgres`, ['-D', `${pgDir}/data`, '-p', String(pgPort), '-k', pgDir, '-h', '127.0.0.1']), { stdio: ['ignore', 'pipe', 'pipe'] });
  const redisPort = await freePort();
  const redis = spawn('/usr/bin/redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const ready = (proc, stream, re, what) => new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => reject(new Error(`${what} not ready:\n${log}`)), 30000);
    proc[stream].on('data', (c) => { log += c; if (re.test(log)) { clearTimeout(timer); resolve(); } });
  });
  try {
    await Promise.all([
      ready(pg, 'stderr', /database system is ready to accept connections/, 'postgres'),
      ready(redis, 'stdout', /Ready to accept connections/, 'redis'),
    ]);
    const cfg = writeConfig('pg.yaml', [upstreamB.url],
      `redis: {host: 127.0.0.1, port: ${redisPort}}\nledger_postgres: "host=127.0.0.1 port=${pgPort} user=postgres dbname=postgres"\n`);
    const key = fathom('keys', 'create', '--config', cfg, '--tenant', 'pg');
    const g1 = await Gateway.start(cfg);
    const g2 = await Gateway.start(cfg);
    const used = { requests: 0, prompt: 0, completion: 0 };
    try {
      await Promise.all(Array.from({ length: 20 }, async (_, i) => {
        const r = await (i % 2 ? g2 : g1).post('/v1/chat/completions', chat(`pg ${i}`, { max_tokens: 2 + (i % 4) }), key);
        assert.equal(r.status, 200, r.text);
        used.requests += 1;
        used.prompt += r.json.usage.prompt_tokens;
        used.completion += r.json.usage.completion_tokens;
      }));
    } finally {
      await g1.stop();
      await g2.stop();
    }
    const m = report(cfg, 'pg').models['deepseek-chat'];
    assert.equal(m.requests, used.requests);
    assert.equal(m.prompt_tokens, used.prompt);
    assert.equal(m.completion_tokens, used.completion);
    assert.equal(m.cost_nanos, used.prompt * 100000 + used.completion * 200000);
  } finally {
    redis.kill('SIGTERM');
    // Signal the postmaster itself (runuser, its parent, need not forward signals).
    const pidFile = `${pgDir}/data/postmaster.pid`;
    if (existsSync(pidFile)) process.kill(Number((await import('node:fs')).readFileSync(pidFile, 'utf8').split('\n')[0]), 'SIGINT');
    else pg.kill('SIGKILL');
    await Promise.all([once(redis, 'exit'), pg.exitCode === null && pg.signalCode === null ? once(pg, 'exit') : null]);
    rmSync(pgDir, { recursive: true, force: true });
  }
});
