// Serverless cold start through the gateway: a request to a pool at zero instances, timed from
// the moment it is sent to its first token, with the worker's load breakdown; page cache warm
// (the weights read once before) and cold (dropped with posix_fadvise(DONTNEED) through
// `dd iflag=nocache count=0`, which needs no root), then the queueing delay under a burst.
//
//   node bench/serverless/cold_start.mjs --model DIR [--bin build/release/bin/fathom] [--reps 3]
//        [--burst 16] [--warmup 0] [--env KEY=VALUE ...]   (--env: the workers' environment, e.g.
//        GLIBC_TUNABLES=glibc.malloc.hugetlb=1)
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const model = path.resolve(arg('model', 'build/bench-serverless/r1-distill-qwen-1.5b-random'));
const bin = path.resolve(arg('bin', 'build/release/bin/fathom'));
const reps = Number(arg('reps', 3));
const burstSize = Number(arg('burst', 16));
const warmup = Number(arg('warmup', 0));
const workerEnv = process.argv.flatMap((a, i) => (a === '--env' ? [process.argv[i + 1]] : []))
  .map((kv) => kv.split('='))
  .map(([k, ...v]) => `${k}: ${JSON.stringify(v.join('='))}`)
  .join(', ');
const dir = mkdtempSync(path.join(os.tmpdir(), 'fathom-coldstart-'));
const files = readdirSync(model).map((f) => path.join(model, f));

function pageCache(mode) {
  for (const f of files) {
    if (mode === 'cold') spawnSync('dd', [`if=${f}`, 'iflag=nocache', 'count=0', 'status=none']);
    else spawnSync('sh', ['-c', `cat "${f}" > /dev/null`]);
  }
  const fin = spawnSync('fincore', ['--bytes', '--noheadings', '--output', 'RES,SIZE', path.join(model, 'model.safetensors')], { encoding: 'utf8' });
  const [res, size] = (fin.stdout || '').trim().split(/\s+/).map(Number);
  return size ? `${((100 * res) / size).toFixed(1)}% of the weights cached` : 'fincore unavailable';
}

async function startGateway(name, pool) {
  const cfg = path.join(dir, `${name}.yaml`);
  writeFileSync(cfg, `
listen: {host: 127.0.0.1, port: 0}
data_dir: ${dir}/${name}
access_log: off
pools:
  r1:
    kind: serverless
    worker: {model: ${model}, ports: 23100-23199, start_timeout_ms: 600000, env: {${workerEnv}}}
    ${pool}
    prewarm: {warmup: {requests: ${warmup}}}
models: [{name: r1, pool: r1}]
`);
  const key = execFileSync(bin, ['keys', 'create', '--config', cfg, '--tenant', 'bench'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  const proc = spawn(bin, ['gateway', '--config', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (c) => { log += c; });
  let out = '';
  for (;;) {
    const m = out.match(/fathom gateway on (http:\/\/[0-9.]+:\d+)/);
    if (m) return { proc, url: m[1], key, dataDir: `${dir}/${name}`, log: () => log };
    const [c] = await once(proc.stdout, 'data');
    out += c;
  }
}

async function stop(g) {
  g.proc.kill('SIGTERM');
  await once(g.proc, 'exit');
}

// Sends one streaming completion; ms to the response head and to the first token.
async function firstToken(g, prompt) {
  const t0 = performance.now();
  const res = await fetch(`${g.url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${g.key}` },
    body: JSON.stringify({ model: 'r1', prompt, max_tokens: 2, stream: true, temperature: 0 }),
  });
  const head = performance.now() - t0;
  const decoder = new TextDecoder();
  let text = '';
  let first = null;
  for await (const chunk of res.body) {
    text += decoder.decode(chunk, { stream: true });
    if (first === null && /data: \{/.test(text)) first = performance.now() - t0;
  }
  return { status: res.status, head, first, coldHeader: Number(res.headers.get('x-fathom-cold-start-ms')) };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => (x === null || x === undefined ? '-' : `${Math.round(x)}`);

console.log(`# ${os.cpus().length} CPUs (${os.cpus()[0].model}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; model ${model}; warm-up requests ${warmup}; worker env {${workerEnv}}; load average ${os.loadavg()[0].toFixed(1)}`);
console.log('cache | cached before | first token ms | instance ready ms (gateway) | tokenizer | template | weights (mmap) | engine + KV | vocab | worker load total');
for (const mode of ['warm', 'cold']) {
  const rows = [];
  for (let r = 0; r < reps; ++r) {
    const g = await startGateway(`${mode}${r}`, 'min_instances: 0\n    max_instances: 1');
    const cached = pageCache(mode);
    const t = await firstToken(g, 'Hello, how are you?');
    const worker = readFileSync(`${g.dataDir}/workers/r1-1.log`, 'utf8');
    const b = worker.match(/load breakdown \(ms\): tokenizer ([\d.]+), chat template ([\d.]+), model config \+ weights \(mmap\) ([\d.]+), engine \+ KV cache ([\d.]+), grammar vocab ([\d.]+); total ([\d.]+)/);
    const ready = g.log().match(/instance 1 ready in (\d+) ms/);
    await stop(g);
    const row = { cached, first: t.first, ready: ready ? Number(ready[1]) : null, b: b ? b.slice(1).map(Number) : [] };
    rows.push(row);
    console.log(`${mode} | ${cached} | ${ms(row.first)} | ${ms(row.ready)} | ${row.b.map(ms).join(' | ')}`);
  }
  console.log(`${mode} median: first token ${ms(median(rows.map((x) => x.first)))} ms, instance ready ${ms(median(rows.map((x) => x.ready)))} ms`);
}

// Queueing under a burst: `burstSize` requests at once at a pool at zero (2 instances, 4 each).
pageCache('warm');
const g = await startGateway('burst', 'min_instances: 0\n    max_instances: 2\n    target_concurrency: 4\n    container_concurrency: 4');
const t0 = performance.now();
const results = await Promise.all(Array.from({ length: burstSize }, async (_, i) => {
  const res = await fetch(`${g.url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${g.key}` },
    body: JSON.stringify({ model: 'r1', prompt: `Request ${i}: tell me a story`, max_tokens: 8, temperature: 0 }),
  });
  await res.text();
  return { status: res.status, wait: Number(res.headers.get('x-fathom-cold-start-ms')), total: performance.now() - t0 };
}));
await stop(g);
const waits = results.map((x) => x.wait).sort((a, b) => a - b);
const pct = (p) => waits[Math.min(waits.length - 1, Math.floor((p / 100) * waits.length))];
console.log(`burst of ${burstSize} at zero instances (max 2 x 4 concurrent): statuses ${[...new Set(results.map((x) => x.status))]}, ` +
  `queue wait ms p50 ${pct(50)} p90 ${pct(90)} max ${waits.at(-1)}, last answer at ${ms(Math.max(...results.map((x) => x.total)))} ms`);
rmSync(dir, { recursive: true, force: true });
