// Renders the Kustomize trees under deploy/ with `kubectl kustomize` and validates the objects
// against the Kubernetes, KEDA, Knative and prometheus-operator schemas of the
// @kubernetes-models packages, with one addition: a field the schema does not know is an
// error (as `kubectl apply --validate=strict` makes it), not silently dropped.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import YAML from 'yaml';
import { repoRoot } from './server.mjs';

/** `kubectl kustomize <dir>` (relative to the repo root): its objects, in order. */
export function kustomize(dir) {
  let out;
  try {
    out = execFileSync('kubectl', ['kustomize', path.join(repoRoot, dir)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    if (e.code === 'ENOENT') throw new Error('kubectl not found: run scripts/setup.sh (it installs kubernetes-client)');
    throw new Error(`kubectl kustomize ${dir} failed:\n${e.stderr}`);
  }
  return YAML.parseAllDocuments(out).map((d) => d.toJSON()).filter(Boolean);
}

/** The objects of one plain YAML file (possibly several documents). */
export function yamlObjects(text) {
  return YAML.parseAllDocuments(text).map((d) => d.toJSON()).filter(Boolean);
}

// API group -> the npm package with its models.
const packages = {
  'keda.sh': '@kubernetes-models/keda',
  'serving.knative.dev': '@kubernetes-models/knative',
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
};

async function modelClass(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const pkg = packages[group] ?? 'kubernetes-models';
  const spec = group ? `${pkg}/${group}/${version}/${kind}` : `${pkg}/${version}/${kind}`;
  try {
    const mod = await import(spec);
    return mod[kind];
  } catch {
    return null;
  }
}

const isPlainObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

// Wraps `value` so that every object records which of its keys the validator read. Objects
// the validator enumerates (maps: labels, annotations, free-form fields) count as fully read.
function track(value, where, records) {
  if (Array.isArray(value)) return value.map((v, i) => track(v, `${where}[${i}]`, records));
  if (!isPlainObject(value)) return value;
  const rec = { where, keys: Object.keys(value), read: new Set(), enumerated: false };
  records.push(rec);
  const inner = {};
  for (const k of rec.keys) inner[k] = track(value[k], `${where}.${k}`, records);
  return new Proxy(inner, {
    get(t, p, r) { if (typeof p === 'string') rec.read.add(p); return Reflect.get(t, p, r); },
    has(t, p) { if (typeof p === 'string') rec.read.add(p); return Reflect.has(t, p); },
    ownKeys(t) { rec.enumerated = true; return Reflect.ownKeys(t); },
  });
}

const topLevelKeys = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'data', 'binaryData', 'stringData', 'type', 'immutable']);

// Validates `data` with model class `Cls`, tracking reads: the schema error (or null), the
// fields it never looked at ({path, freeForm}: freeForm when the schema read nothing at all
// of that object, i.e. leaves it undescribed), and the paths it did look at.
function trackedValidate(Cls, data, prefix = '') {
  const model = new Cls(data);
  const records = [];
  for (const k of Object.keys(model)) {
    if (k !== 'apiVersion' && k !== 'kind') model[k] = track(model[k], prefix + k, records);
  }
  try {
    model.validate();
  } catch (e) {
    return { error: e.message, unknown: [], known: new Set() };
  }
  const unknown = [], known = new Set();
  for (const rec of records) {
    for (const k of rec.keys) {
      if (rec.enumerated || rec.read.has(k)) known.add(`${rec.where}.${k}`);
      else unknown.push({ path: `${rec.where}.${k}`, freeForm: rec.read.size === 0 });
    }
  }
  return { error: null, unknown, known };
}

// Knative's CRD leaves some pod fields free-form (persistentVolumeClaim, behind a feature
// flag): its revision template spec is also checked as a core PodSpec, and inside the objects
// Knative does not describe, what that schema knows is known. Knative's own fields are left out
// of that second pass, and probes get the port Knative fills in.
const knativeOnly = ['containerConcurrency', 'timeoutSeconds', 'responseStartTimeoutSeconds', 'idleTimeoutSeconds'];

/**
 * Problems with one object: no schema for its kind, schema violations, fields the schema does
 * not have. An empty list means valid.
 */
export async function validateObject(obj) {
  const name = `${obj.kind}/${obj.metadata?.name}`;
  const Cls = await modelClass(obj.apiVersion, obj.kind);
  if (!Cls) return [`${name}: no schema for ${obj.apiVersion} ${obj.kind}`];
  const problems = [];
  for (const k of Object.keys(obj)) if (!topLevelKeys.has(k)) problems.push(`${name}: unknown field .${k}`);
  const result = trackedValidate(Cls, obj);
  if (result.error) return [`${name}: ${result.error}`];
  let unknown = result.unknown;
  if (obj.apiVersion === 'serving.knative.dev/v1' && obj.spec?.template?.spec) {
    const { PodSpec } = await import('kubernetes-models/v1/PodSpec');
    const podSpec = structuredClone(Object.fromEntries(Object.entries(obj.spec.template.spec).filter(([k]) => !knativeOnly.includes(k))));
    for (const c of podSpec.containers ?? []) {
      for (const probe of [c.readinessProbe, c.livenessProbe]) {
        if (probe?.httpGet && probe.httpGet.port === undefined) probe.httpGet.port = c.ports?.[0]?.containerPort ?? 8080;
      }
    }
    const core = trackedValidate(PodSpec, podSpec, 'spec.template.spec.');
    if (core.error) return [`${name}: spec.template.spec as a PodSpec: ${core.error}`];
    unknown = unknown.filter((u) => !(u.freeForm && core.known.has(u.path)));
    for (const u of core.unknown) if (u.freeForm === false) unknown.push(u);
  }
  for (const u of new Set(unknown.map((x) => x.path))) problems.push(`${name}: unknown field ${u}`);
  return problems;
}

/** Every container (and init container) of a workload-like object, with its pod spec. */
export function podSpecs(obj) {
  const spec = obj.kind === 'Pod' ? obj.spec : obj.spec?.template?.spec;
  return spec ? [spec] : [];
}
export function containers(obj) {
  return podSpecs(obj).flatMap((s) => [...(s.containers ?? []), ...(s.initContainers ?? [])]);
}
