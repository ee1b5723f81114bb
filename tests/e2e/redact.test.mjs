// Redact mode (`classification: {redact: true}`) through `fathom gateway`: a request that is
// sensitive only for what the detectors, keywords and patterns find is served on-prem while
// on-prem can; when it must go to the cloud pool, every finding is replaced by a placeholder
// before it leaves — the cloud upstream's own request log shows no entity — and the client
// gets the answer with the originals restored, streamed (in pieces that split placeholders)
// or whole, through the official openai client. Requests that are sensitive for another
// reason (the client's header) still never leave.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { startServer, fathomBin, repoRoot } from './lib/server.mjs';
import { fathom, Gateway } from './lib/gateway.mjs';

const dir = mkdtempSync(path.join(os.tmpdir(), 'fathom-redact-'));
let onprem, cloud, gateway, cfg, key, client;
const cloudLog = [];  // every request body the cloud upstream received

// The "cloud model": a server in the OpenAI shape that answers by quoting the last user
// message (so placeholders come back in the answer, as a real model quoting its input would
// return them), streamed three characters per chunk.
function echoCloud() {
  const server = http.createServer(async (req, res) => {
    let raw = '';
    for await (const c of req) raw += c;
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ object: 'list', data: [{ id: 'tiny', object: 'model', max_model_len: 4096 }] }));
    }
    cloudLog.push(raw);
    const body = JSON.parse(raw);
    const chatRoute = req.url.endsWith('/chat/completions');
    const said = chatRoute ? body.messages.at(-1).content : body.prompt;
    const answer = `You said: ${said}`;
    const usage = { prompt_tokens: 7, completion_tokens: 9, total_tokens: 16 };
    const base = { id: 'cmpl-echo', created: 1, model: body.model };
    if (!body.stream) {
      res.writeHead(200, { 'content-type': 'application/json' });
      const choice = chatRoute ? { index: 0, message: { role: 'assistant', content: answer }, finish_reason: 'stop' }
        : { index: 0, text: answer, finish_reason: 'stop' };
      return res.end(JSON.stringify({ ...base, object: chatRoute ? 'chat.completion' : 'text_completion', choices: [choice], usage }));
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const object = chatRoute ? 'chat.completion.chunk' : 'text_completion';
    const send = (choices, extra = {}) => res.write(`data: ${JSON.stringify({ ...base, object, choices, ...extra })}\n\n`);
    for (let i = 0; i < answer.length; i += 3) {
      const piece = answer.slice(i, i + 3);
      send([chatRoute ? { index: 0, delta: { content: piece }, finish_reason: null } : { index: 0, text: piece, finish_reason: null }]);
    }
    send([chatRoute ? { index: 0, delta: {}, finish_reason: 'stop' } : { index: 0, text: '', finish_reason: 'stop' }]);
    send([], { usage });
    res.end('data: [DONE]\n\n');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const secretText = 'mail zhang.san@example.com, call 13912345678, project Falcon ticket PRJ-2024';
const entities = ['zhang.san@example.com', '13912345678', 'Falcon', 'PRJ-2024'];
const leaked = () => cloudLog.filter((b) => entities.some((e) => b.toLowerCase().includes(e.toLowerCase())));

before(async () => {
  [onprem, cloud] = await Promise.all([startServer({ args: ['--served-model-name', 'tiny'] }), echoCloud()]);
  cfg = path.join(dir, 'gw.yaml');
  writeFileSync(cfg, `
listen: {host: 127.0.0.1, port: 0}
data_dir: ${dir}/data
health_check: {interval_ms: 600000}
retry: {max_attempts: 3, budget_ratio: 1.0}
breaker: {min_requests: 100, error_rate: 0.9, sleep_window_ms: 600000}
pools:
  local:
    upstreams: [{url: ${onprem.url}, model: tiny}]
    fallback: cloud
  cloud:
    zone: cloud
    upstreams: [{url: http://127.0.0.1:${cloud.address().port}, model: tiny}]
models:
  - {name: ds, pool: local}
classification:
  keywords: [falcon]
  patterns: ['\\bPRJ-\\d{4}\\b']
  redact: true
`);
  key = fathom('keys', 'create', '--config', cfg, '--tenant', 'acme');
  gateway = await Gateway.start(cfg);
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0 });
});
after(async () => {
  await gateway?.stop();
  cloud?.close();
  await onprem?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const messages = [{ role: 'user', content: secretText }];

test('while on-prem serves, a redactable sensitive request stays on-prem, unredacted', async () => {
  const r = await gateway.post('/v1/chat/completions', { model: 'ds', messages, max_tokens: 4 }, key);
  assert.equal(r.status, 200, r.text);
  const [line] = await gateway.accessLines((l) => l.request_id === r.headers.get('x-request-id'));
  assert.equal(line.sensitive, true);
  assert.equal(line.zone, 'on_prem');
  assert.equal(line.redacted, undefined);
  assert.equal(cloudLog.length, 0);
});

test('on-prem down: the cloud gets placeholders, the client the restored answer (whole and streamed)', async () => {
  await onprem.stop();
  const whole = await client.chat.completions.create({ model: 'ds', messages, max_tokens: 16 });
  assert.equal(whole.choices[0].message.content, `You said: ${secretText}`);

  const stream = await client.chat.completions.create({ model: 'ds', messages, max_tokens: 16, stream: true });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  assert.equal(text, `You said: ${secretText}`);

  const completion = await client.completions.create({ model: 'ds', prompt: secretText, max_tokens: 16, stream: true });
  let ctext = '';
  for await (const chunk of completion) ctext += chunk.choices[0]?.text ?? '';
  assert.equal(ctext, `You said: ${secretText}`);

  assert.equal(cloudLog.length, 3);
  assert.deepEqual(leaked(), [], 'an entity reached the cloud upstream');
  for (const b of cloudLog) assert.match(b, /\[EMAIL_1\].*\[CN_MOBILE_1\].*\[KEYWORD_1\].*\[PATTERN_1\]/);

  let lines = await gateway.accessLines((l) => l.zone === 'cloud');
  while (lines.length < 3) {  // the access log is flushed every 200 ms
    await once(gateway.proc.stdout, 'data');
    lines = await gateway.accessLines((l) => l.zone === 'cloud');
  }
  assert.equal(lines.length, 3);
  for (const l of lines) {
    assert.equal(l.sensitive, true);
    assert.equal(l.redacted, 4);
    assert.equal(l.status, 200);
  }
});

test('a request sensitive by the client\'s header cannot be redacted: refused, nothing leaves', async () => {
  const before = cloudLog.length;
  const r = await gateway.post('/v1/chat/completions', { model: 'ds', messages, max_tokens: 4 }, key,
    { 'x-fathom-sensitivity': 'sensitive' });
  assert.equal(r.status, 503, r.text);
  assert.equal(r.json.error.code, 'no_on_prem_upstream');
  assert.equal(cloudLog.length, before);
});

test('fathom audit zones counts the redacted requests and finds no violation', async () => {
  const month = new Date().toISOString().slice(0, 7);
  let out;
  for (let i = 0; i < 300; ++i) {  // the ledger is written asynchronously
    out = spawnSync(fathomBin, ['audit', 'zones', '--config', cfg, '--month', month], { cwd: repoRoot, encoding: 'utf8' });
    if (/ 0 without a ledger row/.test(out.stdout)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(out.status, 0, out.stdout + out.stderr);
  assert.match(out.stdout, /3 sent redacted; 0 in a cloud zone/);
});
