// CORS: browsers may call the server and the gateway from the configured origins; a preflight
// is answered before authentication; other origins get no CORS headers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';

const KEY = 'sk-cors-test';
const APP = 'https://app.example';
let server;

before(async () => {
  server = await startServer({ apiKey: KEY, args: ['--allowed-origins', `${APP},https://other.example`] });
});
after(async () => { assert.equal(await server.stop(), 0); });

test('a preflight from an allowed origin is answered without a key', async () => {
  const r = await fetch(server.url + '/v1/chat/completions', {
    method: 'OPTIONS',
    headers: { Origin: APP, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization, content-type' },
  });
  assert.equal(r.status, 204);
  assert.equal(r.headers.get('access-control-allow-origin'), APP);
  assert.match(r.headers.get('access-control-allow-methods'), /POST/);
  assert.match(r.headers.get('access-control-allow-headers'), /authorization/);
});

test('answers and streams to an allowed origin carry its Allow-Origin; others get none', async () => {
  const body = (extra = {}) => JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 2, ...extra });
  const post = (origin, extra) => fetch(server.url + '/v1/chat/completions', {
    method: 'POST', body: body(extra),
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${KEY}`, Origin: origin },
  });
  const plain = await post(APP);
  assert.equal(plain.status, 200);
  assert.equal(plain.headers.get('access-control-allow-origin'), APP);
  await plain.text();
  const stream = await post(APP, { stream: true });
  assert.equal(stream.status, 200);
  assert.equal(stream.headers.get('access-control-allow-origin'), APP);
  await stream.text();
  const denied = await post('https://evil.example');
  assert.equal(denied.headers.get('access-control-allow-origin'), null);
  await denied.text();
  // Errors (here: no key) carry it too, so a browser can read the error.
  const noKey = await fetch(server.url + '/v1/models', { headers: { Origin: APP } });
  assert.equal(noKey.status, 401);
  assert.equal(noKey.headers.get('access-control-allow-origin'), APP);
  // A preflight from another origin is not answered as CORS.
  const other = await fetch(server.url + '/v1/chat/completions', {
    method: 'OPTIONS', headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' },
  });
  assert.equal(other.headers.get('access-control-allow-origin'), null);
});
