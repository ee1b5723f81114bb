// Reasoning (--reasoning-parser deepseek_r1), tool-call conversations, and many idle connections.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, modelsDir, postStream, readSse, FathomServer } from './lib/server.mjs';

const MODEL = 'deepseek_v3';
const ref = JSON.parse(readFileSync(path.join(modelsDir, MODEL, 'reference.json'), 'utf8'));
let server;

before(async () => { server = await startServer({ model: MODEL, args: ['--reasoning-parser', 'deepseek_r1'] }); });
after(async () => { assert.equal(await server.stop(), 0); });

test('with the R1 parser, an answer after an open <think> is reasoning_content (and reasoning)', async () => {
  // A prompt that ends inside <think> (as R1 templates render it): the random model never
  // closes it, so its whole answer is reasoning, and exactly the text /v1/completions gives.
  const messages = [{ role: 'user', content: 'Hello!<think>\n' }];
  const tok = await server.post('/tokenize', { messages, add_generation_prompt: false });
  assert.equal(tok.status, 200, tok.text);
  const plain = await server.post('/v1/completions', { prompt: tok.json.tokens, temperature: 0, max_tokens: 16 });
  assert.equal(plain.status, 200, plain.text);
  const want = plain.json.choices[0].text;
  assert.ok(want.length > 0);

  const body = { messages, add_generation_prompt: false, temperature: 0, max_tokens: 16 };
  const r = await server.post('/v1/chat/completions', body);
  assert.equal(r.status, 200, r.text);
  const msg = r.json.choices[0].message;
  assert.equal(msg.reasoning_content, want);
  assert.equal(msg.reasoning, want);
  assert.equal(msg.content ?? '', '');
  const events = await readSse(await postStream(server, '/v1/chat/completions', body));
  const deltas = events.filter((e) => e !== '[DONE]').map((e) => e.choices[0].delta);
  assert.equal(deltas.map((d) => d.reasoning_content ?? '').join(''), want);
  assert.equal(deltas.map((d) => d.content ?? '').join(''), '');
});

test('with the R1 parser, an answer without <think> stays content', async () => {
  const conv = ref.chat[0];
  const r = await server.post('/v1/chat/completions', { messages: conv.messages, temperature: 0, max_tokens: 24 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.choices[0].message.content, conv.completion_text);
  assert.equal(r.json.choices[0].message.reasoning_content ?? null, null);
});

test('conversations with assistant tool_calls and tool results are rendered and served', async () => {
  // (The tool definitions themselves, which this template leaves to the system prompt, do not
  // fit this fixture's 256 positions with the history: tool_calling.test.mjs covers them.)
  const messages = [
    { role: 'user', content: 'Weather in Paris?' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function',
      function: { name: 'get_weather', arguments: '{"city": "Paris"}' } }] },
    { role: 'tool', tool_call_id: 'call_1', content: '{"temp": 21}' },
  ];
  const tok = await server.post('/tokenize', { messages });
  assert.equal(tok.status, 200, tok.text);
  const text = (await server.post('/detokenize', { tokens: tok.json.tokens })).json.prompt;
  assert.ok(text.includes('<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather'), text);
  assert.ok(text.includes('<｜tool▁output▁begin｜>{"temp": 21}<｜tool▁output▁end｜>'), text);
  const r = await server.post('/v1/chat/completions', { messages, temperature: 0, max_tokens: 8 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.usage.prompt_tokens, tok.json.count);
});

test('hundreds of idle connections cost little and do not block serving', async () => {
  const [host, port] = server.url.replace('http://', '').split(':');
  const sockets = await Promise.all(Array.from({ length: 400 }, () => new Promise((resolve, reject) => {
    const s = net.connect(Number(port), host, () => resolve(s));
    s.on('error', reject);
  })));
  try {
    let m;
    for (let i = 0; i < 2000; ++i) {
      m = await server.metrics();
      if (FathomServer.sample(m, 'fathom_http_open_connections') >= 400) break;
    }
    assert.ok(FathomServer.sample(m, 'fathom_http_open_connections') >= 400);
    const r = await server.post('/v1/completions', { prompt: 'still here', max_tokens: 4, temperature: 0 });
    assert.equal(r.status, 200, r.text);
  } finally {
    for (const s of sockets) s.destroy();
  }
});
