// TLS everywhere (issue 11, item 4): `fathom serve` and `fathom gateway` over https with a CA,
// server and client certificates made here by the `openssl` CLI; the official openai client
// over https; mTLS refusing a client without a certificate; the gateway verifying its https
// upstreams (CA, pin) and refusing one whose certificate does not verify; a certificate
// reloaded on SIGHUP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { Agent, fetch as undiciFetch } from 'undici';
import { fathomBin, modelsDir, startServer } from './lib/server.mjs';
import { fathom, Gateway } from './lib/gateway.mjs';

const dir = mkdtempSync(path.join(os.tmpdir(), 'fathom-tls-'));
const file = (name) => path.join(dir, name);
const openssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });

/** A self-signed CA: name.crt, name.key. */
function makeCa(name) {
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-keyout', `${name}.key`, '-out', `${name}.crt`, '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
}

/** name.crt / name.key signed by `ca`, for 127.0.0.1 and localhost. */
function makeLeaf(name, ca, usage) {
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
  writeFileSync(file(`${name}.ext`),
    `subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=${usage}\n`);
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial',
    '-days', '2', '-out', `${name}.crt`, '-extfile', `${name}.ext`);
}

/** base64(SHA-256(SubjectPublicKeyInfo)) of a certificate, as curl's --pinnedpubkey takes it. */
function spkiPin(cert) {
  const pub = openssl('x509', '-in', cert, '-pubkey', '-noout');
  const der = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'der'], { input: pub });
  return execFileSync('openssl', ['dgst', '-sha256', '-binary'], { input: der }).toString('base64');
}

/** A fetch that trusts `ca` (and presents a client certificate when given). */
function tlsFetch(ca, client = null) {
  const connect = { ca: readFileSync(file(`${ca}.crt`)) };
  if (client) Object.assign(connect, { cert: readFileSync(file(`${client}.crt`)), key: readFileSync(file(`${client}.key`)) });
  const dispatcher = new Agent({ connect });
  return (url, init = {}) => undiciFetch(url, { ...init, dispatcher });
}

const tlsArgs = (cert, clientCa = null) =>
  ['--served-model-name', 'tiny', '--tls-cert', file(`${cert}.crt`), '--tls-key', file(`${cert}.key`),
    ...(clientCa ? ['--tls-client-ca', file(`${clientCa}.crt`)] : [])];

let plainTls, mutualTls, impostor;  // fathom serve: TLS; TLS + client certificates; a foreign CA's certificate

before(async () => {
  makeCa('ca');
  makeCa('other-ca');
  makeLeaf('server', 'ca', 'serverAuth');
  makeLeaf('client', 'ca', 'clientAuth');
  makeLeaf('impostor', 'other-ca', 'serverAuth');
  // mutualTls serves copies, replaced by the SIGHUP test.
  copyFileSync(file('server.crt'), file('live.crt'));
  copyFileSync(file('server.key'), file('live.key'));
  plainTls = await startServer({ args: tlsArgs('server'), fetchFn: tlsFetch('ca') });
  mutualTls = await startServer({ args: tlsArgs('live', 'ca'), fetchFn: tlsFetch('ca', 'client') });
  impostor = await startServer({ args: tlsArgs('impostor'), fetchFn: tlsFetch('other-ca') });
});

after(async () => {
  for (const s of [plainTls, mutualTls, impostor]) if (s) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('the openai client talks to fathom serve over https with our CA', async () => {
  assert.match(plainTls.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const client = new OpenAI({
    baseURL: plainTls.url + '/v1', apiKey: 'none', maxRetries: 0,
    fetch: undiciFetch, fetchOptions: { dispatcher: new Agent({ connect: { ca: readFileSync(file('ca.crt')) } }) },
  });
  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), ['tiny']);
  const r = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 });
  assert.equal(r.object, 'chat.completion');
  const stream = await client.chat.completions.create({
    model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, stream: true,
  });
  let chunks = 0;
  for await (const chunk of stream) if (chunk.object === 'chat.completion.chunk') ++chunks;
  assert.ok(chunks > 0);
});

test('a client that does not trust the CA refuses the server (no silent acceptance)', async () => {
  await assert.rejects(fetch(plainTls.url + '/health'), (e) => /certificate/i.test(String(e.cause?.message ?? e)));
  await assert.rejects(tlsFetch('other-ca')(plainTls.url + '/health'));
});

test('mTLS: a client without a certificate is refused in the handshake; one with a certificate is served', async () => {
  await assert.rejects(tlsFetch('ca')(mutualTls.url + '/health'));
  // A certificate from another CA is refused too.
  makeLeaf('foreign-client', 'other-ca', 'clientAuth');
  await assert.rejects(tlsFetch('ca', 'foreign-client')(mutualTls.url + '/health'));
  const ok = await tlsFetch('ca', 'client')(mutualTls.url + '/health');
  assert.equal(ok.status, 200);
  const client = new OpenAI({
    baseURL: mutualTls.url + '/v1', apiKey: 'none', maxRetries: 0, fetch: tlsFetch('ca', 'client'),
  });
  assert.deepEqual((await client.models.list()).data.map((m) => m.id), ['tiny']);
});

/** A gateway config: listen over TLS, and pools of https upstreams. */
function gatewayConfig(name, pools) {
  const p = file(name);
  writeFileSync(p, `
listen: {host: 127.0.0.1, port: 0, tls: {cert: ${file('server.crt')}, key: ${file('server.key')}}}
data_dir: ${file(`data-${name}`)}
health_check: {interval_ms: 600000}
retry: {max_attempts: 2}
breaker: {min_requests: 1, error_rate: 0.5, sleep_window_ms: 600000}
pools:
${Object.entries(pools).map(([pool, ups]) => `  ${pool}:\n    upstreams:\n${ups.map((u) => `      - ${JSON.stringify(u)}`).join('\n')}`).join('\n')}
models:
${Object.keys(pools).map((pool) => `  - {name: ${pool}, pool: ${pool}}`).join('\n')}
`);
  return p;
}

test('the gateway terminates TLS and proxies to https upstreams it verifies; it refuses those that do not verify', async () => {
  const ca = file('ca.crt');
  const cfg = gatewayConfig('gw.yaml', {
    good: [{ url: plainTls.url, model: 'tiny', tls: { ca_file: ca } }],
    pinned: [{ url: plainTls.url, model: 'tiny', tls: { ca_file: ca, pin_sha256: [`sha256//${spkiPin(file('server.crt'))}`] } }],
    mutual: [{ url: mutualTls.url, model: 'tiny', tls: { ca_file: ca, client_cert: file('client.crt'), client_key: file('client.key') } }],
    foreign: [{ url: impostor.url, model: 'tiny', tls: { ca_file: ca } }],
    system: [{ url: plainTls.url, model: 'tiny' }],  // the system's CAs do not know ours
    wrongpin: [{ url: plainTls.url, model: 'tiny', tls: { ca_file: ca, pin_sha256: spkiPin(file('impostor.crt')) } }],
  });
  const key = fathom('keys', 'create', '--config', cfg, '--tenant', 'acme');
  const g = await Gateway.start(cfg, { fetchFn: tlsFetch('ca') });
  try {
    assert.match(g.url, /^https:/);
    const client = new OpenAI({ baseURL: g.url + '/v1', apiKey: key, maxRetries: 0, fetch: tlsFetch('ca') });
    for (const model of ['good', 'pinned', 'mutual']) {
      const r = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 });
      assert.equal(r.object, 'chat.completion', model);
    }
    const stream = await client.chat.completions.create({
      model: 'good', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, stream: true,
    });
    let chunks = 0;
    for await (const chunk of stream) if (chunk.choices.length) ++chunks;
    assert.ok(chunks > 0);

    for (const model of ['foreign', 'system', 'wrongpin']) {
      const r = await g.post('/v1/chat/completions', { model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }, key);
      assert.ok([502, 503].includes(r.status), `${model}: ${r.status} ${r.text}`);
    }
    // Neither the health check nor a request accepted them: each is down or its breaker open.
    for (const u of [impostor.url, plainTls.url]) {
      const port = new URL(u).port;
      for (const pool of u === impostor.url ? ['foreign'] : ['system', 'wrongpin']) {
        const label = `${pool}/127.0.0.1:${port}"`;
        const healthy = await g.metric('fathom_gateway_upstream_healthy', label);
        const breaker = await g.metric('fathom_gateway_upstream_breaker_state', label);
        assert.ok(healthy === 0 || breaker === 1, `${label} healthy=${healthy} breaker=${breaker}`);
      }
    }
    // The impostor never generated anything: every handshake failed before a request was sent.
    const served = await impostor.metrics();
    const finished = Object.entries(served).filter(([k]) => k.startsWith('fathom_requests_finished_total'));
    assert.equal(finished.reduce((sum, [, v]) => sum + v, 0), 0);
  } finally {
    await g.stop();
  }
});

test('a bad certificate or key file is a startup error naming the file', () => {
  writeFileSync(file('broken.key'), 'not a key\n');
  assert.throws(
    () => execFileSync(fathomBin, ['serve', '--port', '0', '--model', path.join(modelsDir, 'deepseek_v3'),
      '--tls-cert', file('server.crt'), '--tls-key', file('broken.key')],
      { stdio: 'pipe' }),
    (e) => e.status === 1 && e.stderr.toString().includes(file('broken.key')));
});

test('SIGHUP reloads the certificate: new connections get the new one', async () => {
  copyFileSync(file('impostor.crt'), file('live.crt'));
  copyFileSync(file('impostor.key'), file('live.key'));
  mutualTls.proc.kill('SIGHUP');
  while (!/TLS certificate reloaded/.test(mutualTls.log)) {
    await Promise.race([once(mutualTls.proc.stderr, 'data'), once(mutualTls.proc.stdout, 'data')]);
  }
  await assert.rejects(tlsFetch('ca', 'client')(mutualTls.url + '/health'));
  const ok = await tlsFetch('other-ca', 'client')(mutualTls.url + '/health');
  assert.equal(ok.status, 200, 'the client CA is unchanged: our client certificate still counts');
});
