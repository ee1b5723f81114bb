// Starts the real `fathom serve` binary for a test and stops it afterwards.
// FATHOM_BIN picks the binary (default build/dev/bin/fathom); tests run from the repo root.
// FATHOM_EMULATOR runs it through an emulator (the arm64 preset: "qemu-aarch64 -L / -cpu max").
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
export const fathomBin = process.env.FATHOM_BIN
  ? path.resolve(repoRoot, process.env.FATHOM_BIN)
  : path.join(repoRoot, 'build/dev/bin/fathom');
export const modelsDir = path.join(repoRoot, 'tests/data/models');

if (!existsSync(fathomBin)) throw new Error(`fathom binary not found at ${fathomBin} (set FATHOM_BIN)`);
const emulator = (process.env.FATHOM_EMULATOR ?? '').split(' ').filter(Boolean);

/** spawn's (command, args) for `fathom ...argv`, through FATHOM_EMULATOR when it is set. */
export function fathomCommand(argv) {
  return emulator.length ? [emulator[0], [...emulator.slice(1), fathomBin, ...argv]] : [fathomBin, argv];
}

export class FathomServer {
  constructor(proc, url, fetchFn = fetch) {
    this.proc = proc;
    this.url = url;
    this.fetch = fetchFn;  // an https server's client (CA, client certificate) when given
    this.log = '';
    this.exitCode = null;
  }

  /** Authorization header when the server was started with an API key. */
  headers(extra = {}) {
    return { 'Content-Type': 'application/json', ...(this.apiKey ? { Authorization: `Bearer ${this.apiKey}` } : {}), ...extra };
  }

  async post(route, body, extraHeaders = {}) {
    const res = await this.fetch(this.url + route, {
      method: 'POST',
      headers: this.headers(extraHeaders),
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: res.status, json, text, headers: res.headers };
  }

  async get(route) {
    const res = await this.fetch(this.url + route, { headers: this.headers() });
    return { status: res.status, text: await res.text() };
  }

  /** Parsed Prometheus samples: {"name{labels}": value}. */
  async metrics() {
    const { text } = await this.get('/metrics');
    const out = {};
    for (const line of text.split('\n')) {
      if (!line || line.startsWith('#')) continue;
      const at = line.lastIndexOf(' ');
      out[line.slice(0, at)] = Number(line.slice(at + 1));
    }
    return out;
  }

  /** The value of the first sample whose name (and optional label text) matches. */
  static sample(metrics, name, labelPart = '') {
    for (const [k, v] of Object.entries(metrics)) {
      if ((k === name || k.startsWith(name + '{')) && k.includes(labelPart)) return v;
    }
    return undefined;
  }

  async stop(signal = 'SIGTERM') {
    if (this.exitCode !== null) return this.exitCode;
    this.proc.kill(signal);
    const [code] = await once(this.proc, 'exit');
    this.exitCode = code;
    return code;
  }
}

/**
 * A copy of fixture `name` (its files linked, not copied) whose config.json allows
 * `maxPositions` positions: the fixtures' 256 are too few for prompts that carry tool
 * schemas. The weights are random either way; rope (YaRN included) extends to any position.
 * The folder is removed when the test process exits.
 */
export function longContextModel(name, maxPositions = 4096) {
  const src = path.join(modelsDir, name);
  const dir = mkdtempSync(path.join(os.tmpdir(), `fathom-${name}-long-`));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  for (const f of readdirSync(src)) {
    if (f !== 'config.json') symlinkSync(path.join(src, f), path.join(dir, f));
  }
  const config = JSON.parse(readFileSync(path.join(src, 'config.json'), 'utf8'));
  config.max_position_embeddings = maxPositions;
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return dir;
}

/**
 * Starts `fathom serve --port 0` on `model` (a fixture name or a path; null for the built-in
 * model) and resolves once the log says it serves and /health answers 200. Event-driven: no
 * sleeps; bounded by `timeoutMs`. With TLS args (--tls-cert ...), pass `fetchFn`: a fetch that
 * trusts the server's CA (and presents a client certificate where it asks for one). The weight
 * cache is off unless `weightCache`: a test's server must not write into the fixture folders.
 */
export async function startServer({ model = 'deepseek_v3', args = [], apiKey = null, timeoutMs = 60000, fetchFn = fetch, weightCache = false } = {}) {
  // The fixtures' references come from transformers in float32: exact greedy equality needs the
  // float32 KV cache (serve's default, auto, is bf16 for these bf16 checkpoints), so tests
  // serve with it unless they pass --kv-cache-dtype themselves.
  const kvCache = args.includes('--kv-cache-dtype') ? [] : ['--kv-cache-dtype', 'float32'];
  const noCache = weightCache || args.includes('--no-weight-cache') ? [] : ['--no-weight-cache'];
  const argv = ['serve', '--port', '0', '--log-level', 'info', ...kvCache, ...noCache, ...args];
  if (model) argv.push('--model', model.includes('/') ? model : path.join(modelsDir, model));
  if (apiKey) argv.push('--api-key', apiKey);
  const proc = spawn(...fathomCommand(argv), { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let server = null;
  let log = '';
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fathom serve did not become ready in ${timeoutMs} ms:\n${log}`)), timeoutMs);
    const onData = (chunk) => {
      log += chunk.toString();
      const listening = log.match(/listening on (https?:\/\/[0-9.]+:\d+)/);
      if (listening && !server) {
        server = new FathomServer(proc, listening[1], fetchFn);
        server.apiKey = apiKey;
      }
      if (server) server.log = log;  // after creating it: the first chunk may hold everything
      if (server && /serving model/.test(log)) {
        clearTimeout(timer);
        resolve(server);
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', (code) => {
      if (server) server.exitCode = code;
      clearTimeout(timer);
      reject(new Error(`fathom serve exited with ${code} before it was ready:\n${log}`));
    });
  });
  const s = await ready;
  proc.removeAllListeners('exit');
  proc.on('exit', (code) => { s.exitCode = code; });
  const health = await s.get('/health');
  if (health.status !== 200) throw new Error(`/health answered ${health.status} after the ready log line`);
  return s;
}

/** Reads an SSE response body: resolves to the list of parsed `data:` payloads ('[DONE]' kept as a string). */
export async function readSse(response, onEvent = () => {}) {
  const decoder = new TextDecoder();
  let buffer = '';
  const events = [];
  for await (const chunk of response.body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const raw = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const lines = raw.split('\n').filter((l) => l.startsWith('data: '));
      if (!lines.length) continue;  // a comment (": keep-alive") or an event without data
      const data = lines.map((l) => l.slice(6)).join('\n');
      const ev = data === '[DONE]' ? data : JSON.parse(data);
      events.push(ev);
      if (onEvent(ev) === false) return events;
    }
  }
  return events;
}

export async function postStream(server, route, body, init = {}) {
  return fetch(server.url + route, {
    method: 'POST',
    headers: server.headers(),
    body: JSON.stringify({ ...body, stream: true }),
    ...init,
  });
}
