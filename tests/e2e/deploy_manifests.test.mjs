// The Kubernetes deployment (deploy/k8s, deploy/monitoring; docs/deploy.md): every overlay
// renders with `kubectl kustomize`, every object passes its schema (Kubernetes, KEDA, Knative,
// prometheus-operator; unknown fields are errors), and everything the manifests say about
// fathom is true of the binary: images, subcommands, flags and environment variables, ports,
// probe paths (asked of a live `fathom serve` and `fathom gateway`), metric names in the KEDA
// queries, and the gateway ConfigMap, which must pass `fathom gateway --check-config` and name
// Services, ports and mounted files that exist in the same overlay.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { fathomBin, repoRoot, startServer } from './lib/server.mjs';
import { Gateway } from './lib/gateway.mjs';
import { containers, kustomize, podSpecs, validateObject, yamlObjects } from './lib/k8s.mjs';

const overlays = ['saas', 'private', 'serverless', 'hybrid'];
const rendered = {};  // overlay (or 'monitoring', 'tools') -> objects
const dir = mkdtempSync(path.join(os.tmpdir(), 'fathom-deploy-'));
const docs = readFileSync(path.join(repoRoot, 'docs/deploy.md'), 'utf8');
const version = readFileSync(path.join(repoRoot, 'CMakeLists.txt'), 'utf8').match(/project\(fathom .*VERSION ([0-9.]+)\)/)[1];
let serve, gateway;
const help = {};        // subcommand -> `fathom <sub> --help` text
const live = {};        // 'serve' | 'gateway' -> their /metrics text

const workloadKinds = new Set(['Deployment', 'StatefulSet', 'Pod']);
const byKind = (objs, kind) => objs.filter((o) => o.kind === kind);
const find = (objs, kind, name) => objs.find((o) => o.kind === kind && o.metadata.name === name);
const isFathom = (c) => /(^|\/)fathom(:|$)/.test(c.image);
// The fathom containers of an overlay: [workload object, container, pod spec].
function fathomContainers(objs) {
  const out = [];
  for (const o of objs) {
    for (const spec of podSpecs(o)) for (const c of spec.containers ?? []) if (isFathom(c)) out.push([o, c, spec]);
  }
  return out;
}
const argValue = (c, flag) => { const i = (c.args ?? []).indexOf(flag); return i >= 0 ? c.args[i + 1] : undefined; };
const gatewayConfigs = (objs) => objs.filter((o) => o.kind === 'ConfigMap' && o.data?.['gateway.yaml'])
  .map((cm) => ({ cm, text: cm.data['gateway.yaml'], cfg: YAML.parse(cm.data['gateway.yaml']) }));

before(async () => {
  for (const o of overlays) rendered[o] = kustomize(`deploy/k8s/overlays/${o}`);
  rendered.monitoring = kustomize('deploy/monitoring');
  rendered.tools = yamlObjects(readFileSync(path.join(repoRoot, 'deploy/k8s/tools/model-copy-pod.yaml'), 'utf8'));
  for (const sub of ['serve', 'gateway']) {
    help[sub] = spawnSync(fathomBin, [sub, '--help'], { encoding: 'utf8' }).stdout;
  }
  // The built-in tiny model, with the metric names the manifests ask for.
  serve = await startServer({ model: null, args: ['--metrics-names', 'vllm'] });
  const cfg = path.join(dir, 'gw.yaml');
  writeFileSync(cfg, `listen: {host: 127.0.0.1, port: 0}\ndata_dir: ${dir}/gw\nhealth_check: {interval_ms: 600000}\n` +
    `pools: {local: {upstreams: [{url: "${serve.url}"}]}}\nmodels: [{name: m, pool: local}]\n`);
  gateway = await Gateway.start(cfg);
  live.serve = (await serve.get('/metrics')).text;
  live.gateway = await (await fetch(gateway.url + '/metrics')).text();
});

after(async () => {
  await gateway?.stop();
  await serve?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('every overlay renders, and every object passes its schema with no unknown field', async () => {
  const problems = [];
  for (const [name, objs] of Object.entries(rendered)) {
    assert.ok(objs.length > 0, `${name} rendered nothing`);
    for (const o of objs) for (const p of await validateObject(o)) problems.push(`${name}: ${p}`);
  }
  assert.deepEqual(problems, []);
});

test('the strict schema check catches a typo and a field Knative does not allow', async () => {
  const d = structuredClone(find(rendered.saas, 'Deployment', 'fathom-serve'));
  d.spec.template.spec.containers[0].readinessProbe.initialDelay = 5;
  assert.deepEqual(await validateObject(d),
    ['Deployment/fathom-serve: unknown field spec.template.spec.containers[0].readinessProbe.initialDelay']);
  const k = structuredClone(find(rendered.serverless, 'Service', 'fathom-serve'));
  k.spec.template.spec.containers[0].lifecycle = { preStop: { exec: { command: ['sleep', '5'] } } };
  assert.deepEqual(await validateObject(k), ['Service/fathom-serve: unknown field spec.template.spec.containers[0].lifecycle']);
});

test('namespaced objects land in fathom (overlays) and monitoring', () => {
  for (const o of overlays) {
    assert.ok(find(rendered[o], 'Namespace', 'fathom'), `${o}: no Namespace fathom`);
    for (const obj of rendered[o]) if (obj.kind !== 'Namespace') assert.equal(obj.metadata.namespace, 'fathom', `${o}: ${obj.kind}/${obj.metadata.name}`);
  }
  for (const obj of rendered.monitoring) assert.equal(obj.metadata.namespace, 'monitoring', `${obj.kind}/${obj.metadata.name}`);
});

test('images: the one scripts/build-image.sh tags, or pinned upstream images', () => {
  const script = readFileSync(path.join(repoRoot, 'scripts/build-image.sh'), 'utf8');
  assert.match(script, /tag="localhost\/fathom:\$\{version\}"/);
  const want = `localhost/fathom:${version}`;
  for (const [name, objs] of Object.entries(rendered)) {
    for (const o of objs) {
      for (const c of containers(o)) {
        if (isFathom(c)) assert.equal(c.image, want, `${name}: ${o.kind}/${o.metadata.name}`);
        else assert.match(c.image, /^docker\.io\/library\/(redis|postgres):\d[\w.-]*$/, `${name}: ${o.kind}/${o.metadata.name} image ${c.image}`);
      }
    }
  }
});

test('fathom containers use real subcommands, flags and environment variables', () => {
  // Environment variables fathom (or a library it links) reads.
  const known = new Set(['FATHOM_API_KEY', 'PGPASSWORD']);
  assert.match(help.serve, /FATHOM_API_KEY/);
  for (const o of overlays) {
    const objs = rendered[o];
    for (const [w, c] of fathomContainers(objs)) {
      const where = `${o}: ${w.kind}/${w.metadata.name}/${c.name}`;
      const [sub, ...rest] = c.args ?? [];
      assert.ok(sub in help, `${where}: subcommand ${sub}`);
      for (const a of rest) {
        if (a.startsWith('--')) assert.match(help[sub], new RegExp(`${a}\\b`), `${where}: fathom ${sub} has no flag ${a}`);
      }
      // Every $(VAR) in the args is defined, and every variable defined is read by someone.
      const defined = new Map();
      for (const e of c.env ?? []) defined.set(e.name, 'env');
      for (const src of c.envFrom ?? []) {
        const cm = src.configMapRef && find(objs, 'ConfigMap', src.configMapRef.name);
        assert.ok(cm, `${where}: envFrom ConfigMap ${src.configMapRef?.name} not in the overlay`);
        for (const k of Object.keys(cm.data)) defined.set(k, 'configMap');
      }
      const used = new Set([...(c.args ?? []).join(' ').matchAll(/\$\((\w+)\)/g)].map((m) => m[1]));
      for (const v of used) assert.ok(defined.has(v), `${where}: $(${v}) is not defined`);
      for (const v of defined.keys()) assert.ok(used.has(v) || known.has(v), `${where}: ${v} is set but neither the args nor fathom read it`);
    }
  }
});

test('ports, probes, Services and scrape annotations line up, and probe paths answer on live binaries', async () => {
  const answers = {};  // `${sub} ${path}` -> status on the live binary
  const liveStatus = async (sub, p) => {
    const key = `${sub} ${p}`;
    if (!(key in answers)) answers[key] = (await fetch((sub === 'serve' ? serve.url : gateway.url) + p)).status;
    return answers[key];
  };
  for (const o of overlays) {
    const objs = rendered[o];
    for (const [w, c] of fathomContainers(objs)) {
      const where = `${o}: ${w.kind}/${w.metadata.name}`;
      const sub = c.args[0];
      const port = Number(argValue(c, '--port') ?? (sub === 'gateway' ? YAML.parse(gatewayConfigs(objs)[0].text).listen.port : 8000));
      const ports = c.ports ?? [];
      assert.ok(ports.some((p) => p.containerPort === port), `${where}: listens on ${port}, declares ${JSON.stringify(ports)}`);
      const tls = (c.args ?? []).includes('--tls-cert');
      for (const kind of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
        const probe = c[kind];
        if (!probe) continue;
        const g = probe.httpGet;
        assert.ok(g, `${where}: ${kind} is not an HTTP probe`);
        if (g.port !== undefined) {
          const p = typeof g.port === 'number' ? ports.find((x) => x.containerPort === g.port) : ports.find((x) => x.name === g.port);
          assert.ok(p && p.containerPort === port, `${where}: ${kind} port ${g.port}`);
        }
        assert.equal(g.scheme ?? 'HTTP', tls ? 'HTTPS' : 'HTTP', `${where}: ${kind} scheme`);
        assert.equal(await liveStatus(sub, g.path), 200, `${where}: ${kind} GET ${g.path} on a live fathom ${sub}`);
      }
      assert.ok(c.readinessProbe, `${where}: no readiness probe`);
      const ann = w.spec.template?.metadata?.annotations ?? {};
      assert.equal(ann['prometheus.io/scrape'], 'true', `${where}: not scraped`);
      assert.equal(Number(ann['prometheus.io/port']), port, `${where}: prometheus.io/port`);
      assert.equal(ann['prometheus.io/scheme'] ?? 'http', tls ? 'https' : 'http', `${where}: prometheus.io/scheme`);
      assert.equal(await liveStatus(sub, ann['prometheus.io/path']), 200, `${where}: metrics path`);
    }
    // Each Service selects a workload and targets one of its named ports.
    for (const svc of byKind(objs, 'Service').filter((s) => s.apiVersion === 'v1')) {
      const sel = svc.spec.selector;
      const targets = objs.filter((w) => workloadKinds.has(w.kind) && w.kind !== 'Pod' &&
        Object.entries(sel).every(([k, v]) => w.spec.template.metadata.labels?.[k] === v));
      assert.equal(targets.length, 1, `${o}: Service ${svc.metadata.name} selects ${targets.length} workloads`);
      for (const sp of svc.spec.ports) {
        const cport = containers(targets[0]).flatMap((c) => c.ports ?? [])
          .find((p) => (typeof sp.targetPort === 'string' ? p.name === sp.targetPort : p.containerPort === sp.targetPort));
        assert.ok(cport, `${o}: Service ${svc.metadata.name} targetPort ${sp.targetPort}`);
      }
    }
  }
});

// The docs' `kubectl ... create secret` line for an external Secret, and whether it makes `key`.
function docsSecretKeys(name) {
  const line = docs.split('\n').find((l) => new RegExp(`create secret (generic|tls) ${name}\\b`).test(l));
  if (!line) return null;
  if (/create secret tls/.test(line)) return new Set(['tls.crt', 'tls.key']);
  return new Set([...line.matchAll(/--from-(?:file|literal)=([\w.-]+)=/g)].map((m) => m[1]));
}

test('ConfigMaps, Secrets, volumes and scale targets that are referenced exist', () => {
  for (const o of [...overlays, 'tools']) {
    const objs = rendered[o];
    const secretKeys = (name) => {
      const s = find(objs, 'Secret', name);
      return s ? new Set(Object.keys({ ...s.data, ...s.stringData })) : docsSecretKeys(name);
    };
    for (const w of objs) {
      for (const spec of podSpecs(w)) {
        const where = `${o}: ${w.kind}/${w.metadata.name}`;
        const claims = new Set((w.spec.volumeClaimTemplates ?? []).map((t) => t.metadata.name));
        for (const v of spec.volumes ?? []) {
          if (v.configMap) assert.ok(find(objs, 'ConfigMap', v.configMap.name), `${where}: ConfigMap ${v.configMap.name}`);
          if (v.persistentVolumeClaim && o !== 'tools') assert.ok(find(objs, 'PersistentVolumeClaim', v.persistentVolumeClaim.claimName), `${where}: PVC ${v.persistentVolumeClaim.claimName}`);
          if (v.secret) {
            const keys = secretKeys(v.secret.secretName);
            assert.ok(keys, `${where}: Secret ${v.secret.secretName} is neither in the overlay nor created in docs/deploy.md`);
            for (const item of v.secret.items ?? []) assert.ok(keys.has(item.key), `${where}: Secret ${v.secret.secretName} has no key ${item.key}`);
          }
        }
        for (const c of [...(spec.containers ?? [])]) {
          for (const m of c.volumeMounts ?? []) {
            assert.ok((spec.volumes ?? []).some((v) => v.name === m.name) || claims.has(m.name), `${where}: mount of unknown volume ${m.name}`);
          }
          for (const e of c.env ?? []) {
            const ref = e.valueFrom?.secretKeyRef;
            if (!ref) continue;
            const keys = secretKeys(ref.name);
            assert.ok(keys?.has(ref.key), `${where}: env ${e.name} from Secret ${ref.name} key ${ref.key}`);
          }
        }
      }
    }
    const scaleTargets = [...byKind(objs, 'HorizontalPodAutoscaler'), ...byKind(objs, 'ScaledObject')].map((a) => a.spec.scaleTargetRef);
    for (const t of scaleTargets) assert.ok(find(objs, t.kind ?? 'Deployment', t.name), `${o}: scale target ${t.name}`);
    for (const pdb of byKind(objs, 'PodDisruptionBudget')) {
      const sel = pdb.spec.selector.matchLabels;
      assert.ok(objs.some((w) => ['Deployment', 'StatefulSet'].includes(w.kind) &&
        Object.entries(sel).every(([k, v]) => w.spec.template.metadata.labels?.[k] === v)), `${o}: PDB ${pdb.metadata.name} selects nothing`);
    }
  }
});

test('the gateway ConfigMap passes `fathom gateway --check-config` and names what the overlay has', () => {
  let checked = 0;
  for (const o of overlays) {
    const objs = rendered[o];
    for (const { cm, text, cfg } of gatewayConfigs(objs)) {
      const where = `${o}: ConfigMap ${cm.metadata.name}`;
      const file = path.join(dir, `${o}-gateway.yaml`);
      writeFileSync(file, text);
      const r = spawnSync(fathomBin, ['gateway', '--check-config', '--config', file], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${where}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /^OK /);
      checked++;

      const [w, c] = fathomContainers(objs).find(([, c2]) => c2.args[0] === 'gateway');
      assert.equal(argValue(c, '--config'), '/etc/fathom/gateway.yaml');
      const mounts = c.volumeMounts;
      const mountOf = (p) => mounts.find((m) => p === m.mountPath || p.startsWith(m.mountPath + '/'));
      const configMount = mountOf('/etc/fathom/gateway.yaml');
      assert.equal(w.spec.template.spec.volumes.find((v) => v.name === configMount.name).configMap.name, cm.metadata.name);
      assert.ok(c.ports.some((p) => p.containerPort === cfg.listen.port), `${where}: listen port ${cfg.listen.port}`);
      assert.equal(cfg.listen.host, '0.0.0.0', `${where}: listens on ${cfg.listen.host}`);
      const dataMount = mountOf(cfg.data_dir);
      assert.ok(dataMount && !dataMount.readOnly, `${where}: data_dir ${cfg.data_dir} is not a writable volume`);
      // Upstreams, Redis and PostgreSQL are Services of this overlay, on their ports.
      const service = (host, port) => {
        const svc = objs.find((s) => s.kind === 'Service' && s.apiVersion === 'v1' && s.metadata.name === host);
        return svc && svc.spec.ports.some((p) => p.port === Number(port));
      };
      for (const [pool, p] of Object.entries(cfg.pools)) {
        for (const u of p.upstreams) {
          const url = new URL(u.url);
          assert.ok(service(url.hostname, url.port), `${where}: pool ${pool} upstream ${u.url} is no Service port`);
          for (const f of [u.tls?.ca_file, u.tls?.client_cert, u.tls?.client_key].filter(Boolean)) {
            const m = mountOf(f);
            assert.ok(m, `${where}: ${f} is not on a mounted volume`);
            const vol = w.spec.template.spec.volumes.find((v) => v.name === m.name);
            const key = path.relative(m.mountPath, f);
            const items = vol.secret?.items ?? vol.configMap?.items;
            assert.ok(!items || items.some((i) => i.path === key), `${where}: ${f} is not projected from ${m.name}`);
          }
        }
      }
      if (cfg.redis) assert.ok(service(cfg.redis.host, cfg.redis.port), `${where}: redis ${cfg.redis.host}`);
      if (cfg.ledger_postgres) {
        const host = cfg.ledger_postgres.match(/host=(\S+)/)[1], port = cfg.ledger_postgres.match(/port=(\d+)/)?.[1] ?? 5432;
        assert.ok(service(host, port), `${where}: ledger_postgres host ${host}`);
        assert.ok(c.env.some((e) => e.name === 'PGPASSWORD'), `${where}: no PGPASSWORD for the ledger`);
      }
      // A config the loader refuses is refused by --check-config too (exit 1, the field named).
      writeFileSync(file, text + '\nretyr: {max_attempts: 2}\n');
      const bad = spawnSync(fathomBin, ['gateway', '--check-config', '--config', file], { encoding: 'utf8' });
      assert.equal(bad.status, 1);
      assert.match(bad.stderr, /retyr/);
    }
  }
  assert.equal(checked, 2, 'saas and hybrid carry a gateway config');
});

test('graceful termination outlasts the drain; probes leave time to load a model', () => {
  for (const o of overlays) {
    const objs = rendered[o];
    const gw = gatewayConfigs(objs)[0]?.cfg;
    const requestS = (gw?.timeouts?.request_ms ?? 600000) / 1000;
    for (const [w, c, spec] of fathomContainers(objs)) {
      if (w.apiVersion === 'serving.knative.dev/v1') continue;  // Knative derives it from timeoutSeconds
      const where = `${o}: ${w.kind}/${w.metadata.name}`;
      const preStop = Number(c.lifecycle?.preStop?.exec?.command?.[1] ?? 0);
      assert.ok(spec.terminationGracePeriodSeconds > requestS + preStop, `${where}: grace ${spec.terminationGracePeriodSeconds} s vs ${requestS} s requests`);
      if (c.args[0] === 'serve') {
        const s = c.startupProbe;
        assert.ok(s && s.periodSeconds * s.failureThreshold >= 600, `${where}: startup budget under 10 minutes`);
        // /health is 503 while draining: liveness on it would restart a pod mid-drain.
        assert.notEqual(c.livenessProbe.httpGet.path, '/health', `${where}`);
      }
    }
  }
});

test('saas: KEDA scales the GPU model pods on vllm:* queue and KV metrics, with a keep-alive trigger', () => {
  const objs = rendered.saas;
  const [, serveC] = fathomContainers(objs).find(([w]) => w.metadata.name === 'fathom-serve');
  assert.equal(serveC.resources.limits['nvidia.com/gpu'], '1');
  const cm = find(objs, 'ConfigMap', serveC.envFrom[0].configMapRef.name);
  const served = cm.data.FATHOM_SERVED_MODEL_NAME;
  const gwModels = gatewayConfigs(objs)[0].cfg.models.map((m) => m.name);
  const so = find(objs, 'ScaledObject', 'fathom-serve');
  assert.equal(so.spec.minReplicaCount, 0);
  const queries = so.spec.triggers.map((t) => t.metadata.query);
  const names = queries.flatMap((q) => [...q.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{/g)].map((m) => m[1]));
  assert.ok(names.includes('vllm:num_requests_waiting') && names.includes('vllm:kv_cache_usage_perc'), names.join());
  for (const n of names) {
    // Declared (# TYPE) on a live /metrics: counters with labels have no sample before traffic.
    const declared = (text) => text.includes(`# TYPE ${n} `);
    assert.ok(declared(live.serve) || declared(live.gateway), `${n} is on neither live /metrics`);
    // The labels it filters on carry values this overlay serves.
    const q = queries.find((x) => x.includes(n + '{'));
    const model = q.match(/model_name="([^"]+)"/)?.[1];
    if (model) assert.equal(model, served, `${n}: model_name`);
    const gwModel = q.match(/[{,]\s*model="([^"]+)"/)?.[1];
    if (gwModel) assert.ok(gwModels.includes(gwModel), `${n}: gateway model ${gwModel}`);
  }
  const keepAlive = so.spec.triggers.find((t) => t.name === 'keep-alive');
  assert.match(keepAlive.metadata.query, /fathom_gateway_requests_total/);
  assert.equal(keepAlive.metadata.activationThreshold, '0');
});

test('serverless: a Knative Service that scales to zero with the timeouts model loading needs', () => {
  const objs = rendered.serverless;
  const ksvc = find(objs, 'Service', 'fathom-serve');
  assert.equal(ksvc.apiVersion, 'serving.knative.dev/v1');
  assert.ok(!byKind(objs, 'Deployment').length, 'no Deployment next to the Knative Service');
  const ann = ksvc.spec.template.metadata.annotations;
  assert.equal(ann['autoscaling.knative.dev/min-scale'], '0');
  assert.ok(Number(ann['autoscaling.knative.dev/target']) > 0);
  assert.ok(Number.parseInt(ann['serving.knative.dev/progress-deadline'], 10) > 600, 'progress deadline above Knative\'s 600 s default');
  const spec = ksvc.spec.template.spec;
  assert.ok(spec.containerConcurrency >= Number(ann['autoscaling.knative.dev/target']));
  assert.ok(spec.timeoutSeconds >= 300 && spec.responseStartTimeoutSeconds >= 300);
  const c = spec.containers[0];
  assert.ok(Number(argValue(c, '--max-num-seqs')) >= spec.containerConcurrency, 'the engine can batch every request Knative lets in');
  assert.equal(c.readinessProbe.httpGet.path, '/health');
});

test('private: one HTTPS pod with an API key, its files on the mounted Secret', () => {
  const objs = rendered.private;
  assert.deepEqual(objs.filter((o) => workloadKinds.has(o.kind)).map((o) => o.metadata.name), ['fathom-serve']);
  const [w, c] = fathomContainers(objs)[0];
  assert.equal(w.spec.replicas, 1);
  assert.equal(w.spec.strategy.type, 'Recreate');
  for (const flag of ['--tls-cert', '--tls-key']) {
    const f = argValue(c, flag);
    const m = c.volumeMounts.find((x) => f.startsWith(x.mountPath + '/'));
    const vol = w.spec.template.spec.volumes.find((v) => v.name === m.name);
    assert.ok(docsSecretKeys(vol.secret.secretName).has(path.basename(f)), `${flag} ${f}`);
  }
  assert.ok(c.env.some((e) => e.name === 'FATHOM_API_KEY' && e.valueFrom.secretKeyRef));
  assert.ok(w.spec.template.spec.volumes.find((v) => v.name === 'models').hostPath);
});

test('hybrid: sensitive routing on, the cloud pool in zone cloud over verified HTTPS, pods placed by zone', () => {
  const objs = rendered.hybrid;
  const cfg = gatewayConfigs(objs)[0].cfg;
  assert.ok(cfg.classification, 'classification (sensitive routing) is on');
  const cloud = Object.entries(cfg.pools).filter(([, p]) => p.zone === 'cloud');
  const onPrem = Object.entries(cfg.pools).filter(([, p]) => (p.zone ?? 'on_prem') === 'on_prem');
  assert.equal(cloud.length, 1);
  assert.ok(onPrem.every(([, p]) => p.fallback === cloud[0][0] && p.burst), 'on-prem pools burst to the cloud pool');
  for (const u of cloud[0][1].upstreams) {
    assert.match(u.url, /^https:/);
    assert.ok(u.tls?.ca_file);
  }
  const zoneOf = (name) => find(objs, 'Deployment', name)?.spec.template.spec.nodeSelector?.['fathom.dev/zone'];
  assert.equal(zoneOf('fathom-serve'), 'on-prem');
  assert.equal(zoneOf('fathom-gateway'), 'on-prem');
  assert.equal(zoneOf('fathom-serve-cloud'), 'cloud');
  const np = find(objs, 'NetworkPolicy', 'fathom-serve-cloud');
  assert.deepEqual(np.spec.podSelector.matchLabels, find(objs, 'Deployment', 'fathom-serve-cloud').spec.selector.matchLabels);
});

test('the PrometheusRule is the rule file (deploy/monitoring/generate.sh)', () => {
  const rule = find(rendered.monitoring, 'PrometheusRule', 'fathom-alerts');
  const file = YAML.parse(readFileSync(path.join(repoRoot, 'deploy/monitoring/prometheus/fathom-alerts.rules.yml'), 'utf8'));
  assert.deepEqual(rule.spec, file);
  const cm = find(rendered.monitoring, 'ConfigMap', 'fathom-prometheus');
  assert.deepEqual(YAML.parse(cm.data['fathom-alerts.rules.yml']), file);
  const dash = find(rendered.monitoring, 'ConfigMap', 'fathom-grafana-dashboards');
  assert.equal(dash.metadata.labels.grafana_dashboard, '1');
  assert.deepEqual(Object.keys(dash.data).sort(), ['engine.json', 'gateway.json', 'serverless.json']);
});
