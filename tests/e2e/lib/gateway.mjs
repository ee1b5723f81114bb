// Starts the real `fathom gateway` binary for a test and stops it afterwards, and runs the
// other `fathom` subcommands (keys, billing, audit). Same binary as lib/server.mjs.
import { spawn, execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { fathomBin, repoRoot } from './server.mjs';

/** Runs `fathom <args...>` to completion; its trimmed stdout. */
export function fathom(...args) {
  return execFileSync(fathomBin, args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** The admin tests' TOTP secret: base32 of "12345678901234567890" (RFC 6238's test key). */
export const TOTP_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

/** The RFC 6238 code (HMAC-SHA1, 30 s steps, 6 digits) of TOTP_SECRET at `unixSeconds`. */
export function totp(unixSeconds) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const mac = createHmac('sha1', Buffer.from('12345678901234567890')).update(msg).digest();
  const o = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(o) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

export class Gateway {
  /**
   * `fathom gateway --config <config> --port 0`; resolves once it logs the URL it listens on
   * (event-driven, bounded by 30 s). `fetchFn`: the fetch to call an https gateway with;
   * `args`: more command-line flags (--test-clock).
   */
  static async start(config, { fetchFn = fetch, args = [] } = {}) {
    const proc = spawn(fathomBin, ['gateway', '--config', config, '--port', '0', ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`gateway not ready:\n${log}`)), 30000);
      const onData = (c) => {
        log += c.toString();
        const m = log.match(/fathom gateway on (https?:\/\/[0-9.]+:\d+)/);
        if (m) { clearTimeout(timer); resolve(m[1]); }
      };
      proc.stdout.on('data', onData);
      proc.stderr.on('data', onData);
      proc.on('exit', (code) => reject(new Error(`gateway exited ${code}:\n${log}`)));
    });
    proc.removeAllListeners('exit');
    const g = new Gateway();
    Object.assign(g, { proc, url, config, output: log, fetchFn });
    proc.stdout.on('data', (c) => { g.output += c.toString(); });
    proc.stderr.on('data', (c) => { g.output += c.toString(); });  // the log, for failure messages
    return g;
  }
  // The access-log lines (JSON) printed so far that match `pred`; waits for stdout until at
  // least one does (the log is flushed every 200 ms).
  async accessLines(pred) {
    for (;;) {
      const lines = this.output.split('\n').filter((l) => l.startsWith('{"')).map((l) => JSON.parse(l)).filter(pred);
      if (lines.length) return lines;
      await once(this.proc.stdout, 'data');
    }
  }
  // POSTs JSON; the Response, to read as it streams.
  fetch(route, body, key, extra = {}) {
    return this.fetchFn(this.url + route, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(key ? { Authorization: `Bearer ${key}` } : {}), ...extra },
      body: JSON.stringify(body),
    });
  }
  // POSTs JSON; status, text, parsed JSON and headers once the whole answer arrived.
  async post(route, body, key, extra = {}) {
    const res = await this.fetch(route, body, key, extra);
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: res.status, json, text, headers: res.headers };
  }
  async metric(name, labelPart) {
    const text = await (await this.fetchFn(this.url + '/metrics')).text();
    for (const line of text.split('\n')) {
      if (line.startsWith(name) && line.includes(labelPart)) return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return undefined;
  }
  async stop() {
    this.proc.kill('SIGTERM');
    await once(this.proc, 'exit');
  }
}
