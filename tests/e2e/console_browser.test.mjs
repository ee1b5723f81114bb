// The web console in a real browser (playwright-core driving Debian's Chromium) against the real
// binaries: the chat playground of `fathom serve` streams an answer with its speed and Stop frees
// the request on the server; through the gateway's operator console an operator logs in (admin
// key + one-time code), creates a key (shown once), uses it from the openai client, sees the
// request in the usage chart and table, exports CSV, revokes the key (the next request is
// refused), and watches a breaker open after an upstream is killed; model output holding
// <script> renders as text. Every page is photographed at desktop and phone width into
// build/console-screenshots/ (FATHOM_CONSOLE_SCREENSHOTS), some of which docs/console.md shows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { FathomServer, longContextModel, repoRoot, startServer } from './lib/server.mjs';
import { fathom, Gateway, TOTP_SECRET, totp } from './lib/gateway.mjs';

const CHROMIUM = process.env.FATHOM_CHROMIUM || '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (scripts/setup.sh installs Debian's chromium)`;
if (skip) console.log(`# SKIP console browser tests: ${skip}`);
const SHOTS = process.env.FATHOM_CONSOLE_SCREENSHOTS || path.join(repoRoot, 'build/console-screenshots');
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const SECRET = TOTP_SECRET;
const HOSTILE = 'Here: <script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> **bold** and `code`';

const dir = mkdtempSync(path.join(os.tmpdir(), 'fathom-console-'));
let browser, serve, flaky, fake, gateway, adminKey;

// A fake upstream for the one rendering check that needs fixed output: a chat stream whose
// content is hostile HTML, with reasoning and a tool call (everything else talks to fathom serve).
function startFakeUpstream() {
  const chunk = (delta, extra = {}) => `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 0, model: 'fake',
    choices: [{ index: 0, delta, finish_reason: null }], ...extra })}\n\n`;
  const srv = http.createServer((req, res) => {
    if (req.url === '/health') return res.end('{"status":"ok"}');
    if (req.url === '/v1/models') return res.end('{"object":"list","data":[]}');
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk({ role: 'assistant', reasoning_content: 'The user wants <b>markup</b>.' }));
      res.write(chunk({ content: HOSTILE }));
      res.write(chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"<script>"}' } }] }));
      res.write(`data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 0, model: 'fake', choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] })}\n\n`);
      res.write(`data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 0, model: 'fake', choices: [], usage: { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 } })}\n\n`);
      res.end('data: [DONE]\n\n');
    });
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve(srv)));
}

async function shoot(page, name) {
  for (const [label, size] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    await page.setViewportSize(size);
    await page.screenshot({ path: path.join(SHOTS, `${name}-${label}.png`), fullPage: true });
  }
  await page.setViewportSize(DESKTOP);
}

async function newPage() {
  const context = await browser.newContext({ viewport: DESKTOP, acceptDownloads: true });
  const page = await context.newPage();
  page.on('pageerror', (e) => { throw new Error(`page error: ${e.message}`); });
  return page;
}

before(async () => {
  if (skip) return;
  mkdirSync(SHOTS, { recursive: true });
  const { chromium } = await import('playwright-core');
  [browser, serve, flaky, fake] = await Promise.all([
    chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] }),
    startServer({ model: longContextModel('deepseek_v3', 4096), args: ['--served-model-name', 'tiny'] }),
    startServer({ args: ['--served-model-name', 'tiny'] }),
    startFakeUpstream(),
  ]);
  const cfg = path.join(dir, 'gw.yaml');
  const write = (adminId) => writeFileSync(cfg, `
listen: {host: 127.0.0.1, port: 0}
data_dir: ${dir}/data
access_log: off
health_check: {interval_ms: 600000}
retry: {max_attempts: 1}
breaker: {min_requests: 2, error_rate: 0.5, sleep_window_ms: 600000}
pools:
  main: {upstreams: [{url: "${serve.url}", model: tiny}]}
  flaky: {upstreams: [{url: "${flaky.url}", model: tiny}]}
  fake: {upstreams: [{url: "http://127.0.0.1:${fake.address().port}"}]}
models:
  - {name: deepseek-chat, pool: main}
  - {name: flaky-chat, pool: flaky}
  - {name: fake-html, pool: fake}
prices: {deepseek-chat: {currency: CNY, input_per_1k: "1", output_per_1k: "2"}}
tenants: {acme: {requests_per_minute: 600}, beta: {tokens_per_minute: 50000}}
` + (adminId ? `admin:\n  totp_secrets: {${adminId}: ${SECRET}}\n` : ''));
  write(null);
  adminKey = fathom('keys', 'create', '--config', cfg, '--tenant', 'ops', '--admin');
  write(fathom('keys', 'list', '--config', cfg).split('\n').find((l) => /\bops\b/.test(l)).split(/\s+/)[0]);
  gateway = await Gateway.start(cfg);
});

after(async () => {
  await browser?.close();
  await Promise.all([gateway?.stop(), serve?.stop(), flaky?.stop()]);
  fake?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function running(server) {
  return FathomServer.sample(await server.metrics(), 'fathom_num_requests_running');
}

test('chat on fathom serve: an answer streams with its speed; Stop cancels and the server frees the request', { skip }, async () => {
  const page = await newPage();
  await page.goto(serve.url + '/');
  await page.waitForSelector('#model option[value="tiny"]', { state: 'attached' });
  await page.getByLabel('System prompt', { exact: true }).fill('You are terse.');
  await page.getByLabel('Max tokens', { exact: true }).fill('12');
  await page.getByLabel('Temperature', { exact: true }).fill('0');
  await page.getByLabel('Message', { exact: true }).fill('Say hello');
  await page.keyboard.press('Enter');  // Enter sends
  const stats = page.locator('.msg.assistant .stats');
  await stats.waitFor();
  assert.match(await stats.textContent(), /^\d+ tokens · prompt \d+ · [\d.]+ tok\/s · TTFT \d+ ms · (length|stop)$/);
  assert.ok((await page.locator('.msg.assistant .content').textContent()).length > 0);
  await shoot(page, 'chat');

  // A long answer (ignore_eos through "More request fields"), stopped once it has started.
  const before = FathomServer.sample(await serve.metrics(), 'fathom_client_disconnects_total') ?? 0;
  await page.getByLabel('Max tokens', { exact: true }).fill('3000');
  await page.getByLabel('More request fields (JSON)', { exact: true }).fill('{"ignore_eos": true}');
  await page.getByLabel('Message', { exact: true }).fill('Write a long story');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.waitForFunction(() => document.querySelectorAll('.msg.assistant')[1]?.querySelector('.content')?.textContent.length > 0);
  assert.equal(await running(serve), 1);
  await page.getByRole('button', { name: 'Stop' }).click();
  await page.locator('.msg.assistant .stats', { hasText: 'stopped' }).waitFor();
  for (;;) {  // the server notices the closed connection and cancels the request
    const m = await serve.metrics();
    if (FathomServer.sample(m, 'fathom_num_requests_running') === 0 && FathomServer.sample(m, 'fathom_client_disconnects_total') === before + 1) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const stopped = await page.locator('.msg.assistant .stats', { hasText: 'stopped' }).textContent();
  assert.ok(Number(stopped.match(/^(\d+) tokens/)[1]) < 3000, stopped);
  // The conversation is kept in the browser: a reload shows it again.
  await page.reload();
  assert.equal(await page.locator('.msg').count(), 4);
  await page.context().close();
});

test('model output with <script> renders as text; reasoning is folded; tool calls are shown', { skip }, async () => {
  const key = fathom('keys', 'create', '--config', gateway.config, '--tenant', 'beta');
  const page = await newPage();
  await page.goto(gateway.url + '/ui/');
  await page.getByLabel('API key', { exact: true }).fill(key);
  await page.getByLabel('API key', { exact: true }).press('Tab');  // change: loads the models this key may use
  await page.waitForSelector('#model option[value="fake-html"]', { state: 'attached' });
  await page.getByLabel('Model', { exact: true }).selectOption('fake-html');
  await page.getByLabel('Message', { exact: true }).fill('Show me some HTML');
  await page.getByRole('button', { name: 'Send' }).click();
  const answer = page.locator('.msg.assistant');
  await answer.locator('.stats').waitFor();
  const content = answer.locator('.content');
  assert.ok((await content.textContent()).includes('<script>window.__pwned = 1</script><img src=x'));
  assert.equal(await content.locator('script, img').count(), 0);
  assert.equal(await content.locator('strong').textContent(), 'bold');
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  const reasoning = answer.locator('details.reasoning');
  assert.equal(await reasoning.getAttribute('open'), null);  // folded
  assert.equal(await reasoning.locator('.reasoning-text').textContent(), 'The user wants <b>markup</b>.');
  assert.equal(await answer.locator('.tool-name').textContent(), 'Tool call: lookup');
  assert.match(await answer.locator('.tool-call pre').textContent(), /"q": "<script>"/);
  await reasoning.locator('summary').click();
  await shoot(page, 'chat-gateway');
  // Export JSON downloads the conversation.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export JSON' }).click()]);
  const exported = JSON.parse(readFileSync(await download.path(), 'utf8'));
  assert.equal(exported.messages[1].content, HOSTILE);
  await page.context().close();
});

test('operator: log in, create a key shown once, use it, see it in usage, revoke it; a breaker opens', { skip }, async () => {
  const page = await newPage();
  page.on('dialog', (d) => d.accept());  // the revoke confirmation
  await page.goto(gateway.url + '/ui/admin.html');
  await shoot(page, 'admin-login');
  await page.getByLabel('Admin key', { exact: true }).fill(adminKey);
  await page.getByLabel('One-time code', { exact: true }).fill(totp(Date.now() / 1000));
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#live table').first().waitFor();

  // Keys: create one for acme; its secret is shown once.
  await page.getByRole('button', { name: 'Keys', exact: true }).click();
  await page.getByLabel('Tenant', { exact: true }).fill('acme');
  await page.getByRole('button', { name: 'Create key' }).click();
  const secret = (await page.locator('#new-key-secret').textContent()).trim();
  assert.match(secret, /^fk-/);
  await shoot(page, 'admin-keys-created');
  await page.getByRole('button', { name: 'Done, hide it' }).click();
  assert.equal(await page.locator('#new-key-secret').count(), 0);
  assert.ok(!(await page.content()).includes(secret));

  // Usage before: the month's bars (other tests' requests are in them too; summed, so a day
  // that ends during the test does not matter).
  await page.getByRole('button', { name: 'Usage', exact: true }).click();
  await page.locator('#usage figure').waitFor();
  const monthTokens = async () => {
    let sum = 0;
    for (const t of await page.locator('#usage svg rect.bar title').allTextContents()) sum += Number(t.match(/: ([\d,]+) tokens/)[1].replace(/,/g, ''));
    return sum;
  };
  const before = await monthTokens();

  // The key works from the official openai client.
  const client = new OpenAI({ baseURL: gateway.url + '/v1', apiKey: secret, maxRetries: 0 });
  const done = await client.chat.completions.create({ model: 'deepseek-chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, temperature: 0 });
  const tokens = done.usage.prompt_tokens + done.usage.completion_tokens;

  // Usage: the request is in this month's chart and table within seconds; CSV export has it.
  const row = page.locator('#usage table').last().locator('tr', { hasText: 'acme' });
  for (let i = 0; !(await row.count()); ++i) {
    assert.ok(i < 100, 'the request never showed up in the usage table');
    await page.getByRole('button', { name: 'Refresh', exact: true }).click();
    await page.waitForTimeout(50);
  }
  assert.match(await row.textContent(), /deepseek-chat/);
  assert.equal(await monthTokens(), before + tokens);
  const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
  const lines = readFileSync(await csv.path(), 'utf8').trim().split('\r\n');
  assert.equal(lines[0], 'day,tenant,model,requests,errors,prompt_tokens,completion_tokens,cached_tokens,cost,currency');
  assert.ok(lines.some((l) => l.includes(',acme,deepseek-chat,1,0,')), lines.join('\n'));
  await shoot(page, 'admin-usage');

  // Revoke it: the next request is refused.
  await page.getByRole('button', { name: 'Keys', exact: true }).click();
  const keyRow = page.locator('#keys tr', { hasText: 'acme' });
  await keyRow.getByRole('button', { name: /^Revoke key/ }).click();
  await keyRow.locator('.badge.bad', { hasText: 'revoked' }).waitFor();
  await assert.rejects(client.chat.completions.create({ model: 'deepseek-chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }),
    (e) => e.status === 401);
  await shoot(page, 'admin-keys');

  // Live: kill an upstream; its failed requests open the breaker, and the live view shows it.
  await page.getByRole('button', { name: 'Live', exact: true }).click();
  await flaky.stop('SIGKILL');
  flaky = null;  // stopped: after() must not wait for a second exit
  const opsKey = fathom('keys', 'create', '--config', gateway.config, '--tenant', 'acme');
  for (let i = 0; i < 2; ++i) {
    const r = await gateway.post('/v1/chat/completions', { model: 'flaky-chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }, opsKey);
    assert.ok(r.status >= 500, r.text);
  }
  const flakyRow = page.locator('#live tr', { hasText: 'flaky/' });
  await flakyRow.locator('.badge.bad', { hasText: 'open' }).waitFor();  // the view polls every 2 s
  await shoot(page, 'admin-live');

  for (const [tab, ready] of [['Tenants', '#tenants table'], ['Audit log', '#audit .verification'], ['Config', '#config pre']]) {
    await page.getByRole('button', { name: tab, exact: true }).click();
    await page.locator(ready).waitFor();
    await shoot(page, `admin-${tab.split(' ')[0].toLowerCase()}`);
  }
  assert.match(await page.locator('#audit .verification').textContent(), /^Chain verified/);
  assert.ok(!(await page.locator('#config pre').textContent()).includes(SECRET));
  await page.context().close();
});
