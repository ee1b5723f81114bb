// Monitoring (deploy/monitoring; docs/deploy.md "Monitoring"): `promtool check rules` and
// `promtool test rules` (each alert fires on synthetic series and stays quiet on healthy ones;
// a rule that never fires or always fires fails them); then a real Prometheus (Debian's
// `prometheus`) started here scrapes a live `fathom serve` and `fathom gateway` under load
// through the shipped scrape config's relabeling, evaluates every rule without error, and
// answers every dashboard query, dashboard variable and KEDA query with data. Every metric
// name those name is on a live /metrics.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { repoRoot, startServer } from './lib/server.mjs';
import { fathom, Gateway } from './lib/gateway.mjs';
import { kustomize } from './lib/k8s.mjs';

const promDir = path.join(repoRoot, 'deploy/monitoring/prometheus');
const rulesFile = path.join(promDir, 'fathom-alerts.rules.yml');
const testsFile = path.join(promDir, 'tests/fathom-alerts.test.yml');
const dashDir = path.join(repoRoot, 'deploy/monitoring/grafana/dashboards');
const dir = mkdtempSync(path.join(os.tmpdir(), 'fathom-monitoring-'));
const rules = YAML.parse(readFileSync(rulesFile, 'utf8'));
const alerts = rules.groups.flatMap((g) => g.rules.filter((r) => r.alert));
const dashboards = readdirSync(dashDir).filter((f) => f.endsWith('.json'))
  .map((f) => ({ file: f, json: JSON.parse(readFileSync(path.join(dashDir, f), 'utf8')) }));
const saas = kustomize('deploy/k8s/overlays/saas');
const scaledObject = saas.find((o) => o.kind === 'ScaledObject');

let serve, gateway, prom, promUrl, loadStart;
const liveMetrics = {};  // 'serve' | 'gateway' -> /metrics text after the load

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.error?.code === 'ENOENT') throw new Error(`${cmd} not found: run scripts/setup.sh (it installs prometheus)`);
  return r;
}
const freePort = () => new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});
async function promGet(route, params = {}) {
  const res = await fetch(`${promUrl}${route}?${new URLSearchParams(params)}`);
  const body = await res.json();
  assert.equal(body.status, 'success', `${route} ${JSON.stringify(params)}: ${JSON.stringify(body)}`);
  return body.data;
}
// Polls `probe` until it returns a truthy value; bounded by `ms` (no sleeping as a timing assertion).
async function until(what, probe, ms = 30000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// ---- PromQL helpers ----
const promqlWords = new Set(['sum', 'min', 'max', 'avg', 'count', 'stddev', 'topk', 'bottomk', 'quantile', 'by', 'without',
  'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'offset', 'bool', 'inf', 'nan']);
/** The metric names an expression reads (functions, keywords, label names and strings removed). */
function metricNames(expr) {
  const e = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""')           // strings
    .replace(/\{[^}]*\}/g, ' ')                                   // label matchers
    .replace(/\[[^\]]*\]/g, ' ')                                  // ranges
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  return [...new Set([...e.matchAll(/(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])(?!\s*\()/g)].map((m) => m[1])
    .filter((w) => !promqlWords.has(w.toLowerCase()) && !/^\d/.test(w)))];
}
/** A dashboard expression as Grafana would send it, with every variable at "All". */
function grafanaExpr(expr, rangeS) {
  return expr.replaceAll('$__rate_interval', '5s').replaceAll('$__interval', '5s').replaceAll('$__range', `${rangeS}s`)
    .replace(/\$(namespace|model|tenant)\b/g, '.*');
}
function dashboardTargets() {
  const out = [];
  for (const { file, json } of dashboards) {
    for (const p of json.panels) for (const t of p.targets ?? []) out.push({ where: `${file}: ${p.title} ${t.refId}`, expr: t.expr });
  }
  return out;
}
function dashboardVariables() {
  return dashboards.flatMap(({ file, json }) => json.templating.list.filter((v) => v.type === 'query')
    .map((v) => ({ where: `${file}: $${v.name}`, query: v.query.query ?? v.query })));
}

/** Metric families on a /metrics text with at least one sample: name -> type. */
function families(text) {
  const types = new Map(), sampled = new Set();
  for (const line of text.split('\n')) {
    const t = line.match(/^# TYPE (\S+) (\w+)/);
    if (t) types.set(t[1], t[2]);
    else if (line && !line.startsWith('#')) sampled.add(line.match(/^[^{ ]+/)[0]);
  }
  const out = new Map();
  for (const [name, type] of types) {
    const names = type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name];
    if (names.some((n) => sampled.has(n))) for (const n of names) out.set(n, { family: name, type });
  }
  return out;
}

// ---- the shipped scrape config, pointed at local processes ----
// Kubernetes service discovery becomes static targets that carry the labels it would give a
// pod of the saas overlay (its annotations and labels), so the config's relabeling runs for
// real. The one change: prometheus.io/port is the local process's port, not the pod's 8000
// (deploy_manifests.test.mjs checks that the manifests' annotation names the pod's port).
function podTarget(address, workloadName, podName) {
  const w = saas.find((o) => o.kind === 'Deployment' && o.metadata.name === workloadName);
  const meta = w.spec.template.metadata;
  const sanitize = (k) => k.replace(/[^a-zA-Z0-9_]/g, '_');
  const labels = { __meta_kubernetes_namespace: w.metadata.namespace, __meta_kubernetes_pod_name: podName };
  for (const [k, v] of Object.entries(meta.labels ?? {})) labels[`__meta_kubernetes_pod_label_${sanitize(k)}`] = v;
  for (const [k, v] of Object.entries(meta.annotations ?? {})) labels[`__meta_kubernetes_pod_annotation_${sanitize(k)}`] = v;
  labels.__meta_kubernetes_pod_annotation_prometheus_io_port = address.split(':')[1];
  return { targets: [address], labels };
}

function prometheusConfig(targets) {
  const cfg = YAML.parse(readFileSync(path.join(promDir, 'prometheus.yml'), 'utf8'));
  cfg.global.scrape_interval = '1s';
  cfg.global.evaluation_interval = '1s';
  cfg.rule_files = cfg.rule_files.map((f) => path.join(promDir, f));
  const job = cfg.scrape_configs.find((j) => j.kubernetes_sd_configs);
  assert.ok(job, 'prometheus.yml discovers pods with kubernetes_sd_configs');
  delete job.kubernetes_sd_configs;
  job.static_configs = targets;
  return YAML.stringify(cfg);
}

before(async () => {
  const serveDeploy = saas.find((o) => o.kind === 'Deployment' && o.metadata.name === 'fathom-serve');
  const serveArgs = serveDeploy.spec.template.spec.containers[0].args;
  const servedName = saas.find((o) => o.kind === 'ConfigMap' && o.data?.FATHOM_SERVED_MODEL_NAME).data.FATHOM_SERVED_MODEL_NAME;
  serve = await startServer({
    model: null,
    args: ['--metrics-names', serveArgs[serveArgs.indexOf('--metrics-names') + 1], '--served-model-name', servedName],
  });
  const cfg = path.join(dir, 'gw.yaml');
  writeFileSync(cfg, `
listen: {host: 127.0.0.1, port: 0}
data_dir: ${dir}/gw
health_check: {interval_ms: 1000}
pools:
  local:
    upstreams: [{url: "${serve.url}", model: ${servedName}}]
  down:
    upstreams: [{url: "http://127.0.0.1:1", model: ${servedName}}]
models:
  - {name: ${servedName}, pool: local}
  - {name: broken, pool: down}
prices:
  ${servedName}: {currency: CNY, input_per_1k: "0.001", output_per_1k: "0.002"}
tenants:
  tiny: {requests_per_minute: 2}
cache: {enabled: true}
classification: {}
`);
  const keys = { default: fathom('keys', 'create', '--config', cfg, '--tenant', 'default'), tiny: fathom('keys', 'create', '--config', cfg, '--tenant', 'tiny') };
  gateway = await Gateway.start(cfg);
  gateway.keys = keys;
  gateway.model = servedName;

  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  mkdirSync(path.join(dir, 'prom'));
  writeFileSync(path.join(dir, 'prometheus.yml'), prometheusConfig([
    podTarget(new URL(serve.url).host, 'fathom-serve', 'fathom-serve-0'),
    podTarget(new URL(gateway.url).host, 'fathom-gateway', 'fathom-gateway-0'),
  ]));
  loadStart = Date.now() / 1000 - 1;
  prom = spawn('prometheus', [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'prom')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let promLog = '';
  prom.stdout.on('data', (c) => { promLog += c; });
  prom.stderr.on('data', (c) => { promLog += c; });
  const exited = once(prom, 'exit').then(([code]) => { throw new Error(`prometheus exited ${code}:\n${promLog}`); });
  exited.catch(() => {});
  await Promise.race([exited, until('prometheus /-/ready', async () => (await fetch(`${promUrl}/-/ready`).catch(() => null))?.ok)]);
  // Both targets up, with the labels the relabeling gives them.
  await until('both targets scraped', async () => {
    const { activeTargets } = await promGet('/api/v1/targets');
    return activeTargets.length === 2 && activeTargets.every((t) => t.health === 'up');
  });

  // ---- load, in two rounds a scrape apart so that rates and quantiles have data ----
  const ask = (key, content, extra = {}) => gateway.post('/v1/chat/completions',
    { model: servedName, messages: [{ role: 'user', content }], max_tokens: 12, ...extra }, key);
  const shared = 'You are a careful assistant. Answer briefly and precisely, and say so when you do not know. ';
  for (let round = 0; round < 2; round++) {
    const answers = await Promise.all([
      ...Array.from({ length: 8 }, (_, i) => ask(keys.default, `${shared}Question ${round}-${i}: what is ${i} + ${round}?`)),
      ask(keys.default, 'Deterministic, cached the second time', { temperature: 0 }),
      ask(keys.default, 'Deterministic, cached the second time', { temperature: 0 }),
      ask(keys.default, 'mail zhang.san@example.com the report'),                 // sensitive (email)
      gateway.post('/v1/chat/completions', { model: 'broken', messages: [{ role: 'user', content: 'x' }] }, keys.default),  // 503
      ...Array.from({ length: 3 }, () => ask(keys.tiny, 'a tenant over its quota')),  // 2 admitted per minute
      gateway.post('/v1/chat/completions', { model: servedName, messages: [] }, 'fk-not-a-key'),
    ]);
    assert.ok(answers.filter((a) => a.status === 200).length >= 10, JSON.stringify(answers.map((a) => a.status)));
    for (let i = 0; i < 3; i++) {  // streams: the gateway's TTFT histogram
      const res = await gateway.fetch('/v1/chat/completions', { model: servedName, messages: [{ role: 'user', content: `stream ${round} ${i}` }], max_tokens: 12, stream: true }, keys.default);
      assert.equal(res.status, 200);
      await res.text();
    }
    const want = (round + 1) * 12;
    await until(`round ${round} scraped`, async () => {
      const r = await promGet('/api/v1/query', { query: 'sum(fathom_gateway_requests_total{status="200"})' });
      return r.result.length && Number(r.result[0].value[1]) >= want;
    });
  }
  liveMetrics.serve = (await serve.get('/metrics')).text;
  liveMetrics.gateway = await (await fetch(gateway.url + '/metrics')).text();
});

after(async () => {
  if (prom && prom.exitCode === null) { prom.kill('SIGTERM'); await once(prom, 'exit'); }
  await gateway?.stop();
  await serve?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('promtool check rules accepts the rule file', () => {
  const r = run('promtool', ['check', 'rules', rulesFile]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`SUCCESS: ${alerts.length} rules found`));
});

test('promtool test rules: every alert fires on synthetic series and stays quiet on healthy ones', () => {
  const r = run('promtool', ['test', 'rules', testsFile]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const cases = YAML.parse(readFileSync(testsFile, 'utf8')).tests.flatMap((t) => t.alert_rule_test ?? []);
  for (const a of alerts) {
    assert.ok(cases.some((c) => c.alertname === a.alert && c.exp_alerts.length > 0), `${a.alert}: no case where it fires`);
    assert.ok(cases.some((c) => c.alertname === a.alert && c.exp_alerts.length === 0), `${a.alert}: no case where it stays quiet`);
  }
  // The cases are not vacuous: with every alert made to never fire, each alert's firing case
  // fails; with every alert made to always fire, each alert's quiet case fails.
  mkdirSync(path.join(dir, 'mutant/tests'), { recursive: true });
  writeFileSync(path.join(dir, 'mutant/tests/t.yml'), readFileSync(testsFile, 'utf8'));
  for (const expr of ['vector(0) > 1', 'vector(1)']) {
    const mutant = structuredClone(rules);
    for (const g of mutant.groups) for (const rule of g.rules) rule.expr = expr;
    writeFileSync(path.join(dir, 'mutant/fathom-alerts.rules.yml'), YAML.stringify(mutant));
    const m = run('promtool', ['test', 'rules', path.join(dir, 'mutant/tests/t.yml')]);
    assert.notEqual(m.status, 0);
    const failed = new Set([...(m.stdout + m.stderr).matchAll(/alertname: (\w+)/g)].map((x) => x[1]));
    for (const a of alerts) assert.ok(failed.has(a.alert), `${a.alert} with expr '${expr}' still passes its cases`);
  }
});

test('every metric the rules, dashboards and KEDA read is on a live /metrics', () => {
  const live = new Map([...families(liveMetrics.serve), ...families(liveMetrics.gateway)]);
  const exprs = [
    ...alerts.map((a) => ({ where: `rule ${a.alert}`, expr: a.expr })),
    ...dashboardTargets().map((t) => ({ ...t, expr: grafanaExpr(t.expr, 60) })),
    ...dashboardVariables().map((v) => ({ where: v.where, expr: v.query.replace(/^label_values\((.*),\s*\w+\)$/, '$1') })),
    ...scaledObject.spec.triggers.map((t) => ({ where: `ScaledObject trigger ${t.name}`, expr: t.metadata.query })),
  ];
  let checked = 0;
  for (const { where, expr } of exprs) {
    const names = metricNames(expr);
    assert.ok(names.length > 0, `${where}: reads no metric? ${expr}`);
    for (const n of names) assert.ok(live.has(n), `${where}: ${n} is not on a live /metrics`);
    checked += names.length;
  }
  assert.ok(checked > 50);
  assert.deepEqual(metricNames('sum by (le, pod) (rate(a_b_bucket{x="y"}[5m])) / on(pod) count(vllm:c) > 2'), ['a_b_bucket', 'vllm:c']);
});

test('quantile alerts stay below the largest finite bucket (past it a quantile reads as that bound)', () => {
  const text = liveMetrics.serve + liveMetrics.gateway;
  let checked = 0;
  for (const a of alerts.filter((x) => x.expr.includes('histogram_quantile'))) {
    const bucket = metricNames(a.expr).find((n) => n.endsWith('_bucket'));
    const bounds = [...text.matchAll(new RegExp(`^${bucket}\\{.*le="([^"]+)"`, 'gm'))].map((m) => Number(m[1])).filter(Number.isFinite);
    const threshold = Number(a.expr.match(/\)\s*>\s*([\d.]+)\s*$/)[1]);
    assert.ok(bounds.length, `${a.alert}: no buckets of ${bucket}`);
    assert.ok(threshold < Math.max(...bounds), `${a.alert}: threshold ${threshold} >= largest bucket ${Math.max(...bounds)}`);
    checked++;
  }
  assert.ok(checked >= 2);
});

test('the relabeling gives every series namespace, pod and component', async () => {
  const r = await promGet('/api/v1/query', { query: 'count by (job, namespace, pod, component) ({__name__=~"fathom_model_loaded|fathom_gateway_requests_in_flight"})' });
  const got = r.result.map((s) => s.metric).sort((a, b) => a.pod.localeCompare(b.pod));
  assert.deepEqual(got, [
    { job: 'fathom', namespace: 'fathom', pod: 'fathom-gateway-0', component: 'gateway' },
    { job: 'fathom', namespace: 'fathom', pod: 'fathom-serve-0', component: 'serve' },
  ]);
});

test('Prometheus evaluates every rule without error', async () => {
  const groups = await until('every rule evaluated', async () => {
    const { groups: gs } = await promGet('/api/v1/rules');
    const all = gs.flatMap((g) => g.rules);
    return all.length === alerts.length && all.every((r) => r.lastEvaluation && !r.lastEvaluation.startsWith('0001')) && gs;
  });
  for (const r of groups.flatMap((g) => g.rules)) assert.equal(r.health, 'ok', `${r.name}: ${r.lastError}`);
});

test('every dashboard query and variable returns data from Prometheus', async () => {
  const end = Date.now() / 1000;
  const rangeS = Math.ceil(end - loadStart);
  const empty = [];
  for (const { where, expr } of dashboardTargets()) {
    // "or vector(0)" shows 0 instead of "no data" in Grafana; the query itself must have data.
    const query = grafanaExpr(expr.replace(/\s+or vector\(0\)$/, ''), rangeS);
    const r = await promGet('/api/v1/query_range', { query, start: loadStart, end, step: 1 });
    const finite = r.result.some((s) => s.values.some(([, v]) => Number.isFinite(Number(v))));
    if (!finite) empty.push(`${where}: ${query}`);
  }
  for (const { where, query } of dashboardVariables()) {
    const m = query.match(/^label_values\((.*),\s*(\w+)\)$/);
    assert.ok(m, `${where}: ${query}`);
    const values = await promGet(`/api/v1/label/${m[2]}/values`, { 'match[]': grafanaExpr(m[1], rangeS), start: loadStart, end });
    if (!values.length) empty.push(`${where}: ${query}`);
  }
  assert.deepEqual(empty, []);
});

test('the KEDA queries of the saas overlay return data, and the keep-alive sees the traffic', async () => {
  for (const t of scaledObject.spec.triggers) {
    const r = await promGet('/api/v1/query', { query: t.metadata.query });
    assert.equal(r.result.length, 1, `${t.name}: ${t.metadata.query}`);
    const v = Number(r.result[0].value[1]);
    assert.ok(Number.isFinite(v), `${t.name}: ${v}`);
    if (t.name === 'keep-alive') assert.ok(v > Number(t.metadata.activationThreshold), `keep-alive ${v}`);
  }
});

test('the Grafana provisioning files point at the dashboards and a Prometheus datasource', () => {
  const prov = path.join(repoRoot, 'deploy/monitoring/grafana/provisioning');
  const dash = YAML.parse(readFileSync(path.join(prov, 'dashboards/fathom.yaml'), 'utf8'));
  assert.equal(dash.providers[0].type, 'file');
  assert.match(dash.providers[0].options.path, /^\/var\/lib\/grafana\/dashboards\//);
  const ds = YAML.parse(readFileSync(path.join(prov, 'datasources/prometheus.yaml'), 'utf8'));
  assert.equal(ds.datasources[0].type, 'prometheus');
  const uids = new Set();
  for (const { file, json } of dashboards) {
    assert.ok(json.uid && !uids.has(json.uid), `${file}: uid`);
    uids.add(json.uid);
    const dsVar = json.templating.list.find((v) => v.type === 'datasource');
    assert.equal(dsVar.query, 'prometheus', `${file}: datasource variable`);
    const ids = json.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, `${file}: panel ids`);
    for (const p of json.panels.filter((x) => x.type !== 'row')) {
      assert.equal(p.datasource.uid, '${datasource}', `${file}: ${p.title}`);
      assert.ok(p.targets.length > 0, `${file}: ${p.title} has no query`);
    }
  }
});
