// The operator console: the gateway's /admin/ API behind the admin key (and its one-time code,
// traded once for a session at login). Live view by polling every 2 s.
import './style.css';
import { apiJson, bearer } from './api.js';
import { barChart } from './chart.js';
import { toCsv } from './csv.js';
import { announce, download, fill, h } from './dom.js';

const $ = (id) => document.getElementById(id);
const STORE = 'fathom.admin.v1';
const LIVE_POLL_MS = 2000;
let auth = JSON.parse(sessionStorage.getItem(STORE) || 'null');  // {key, session}
let liveTimer = null;
let usageRows = [];

const status = (text, isError = false) => announce($('status'), text, isError);

function admin(path, opts = {}) {
  return apiJson(path, { ...opts, headers: { ...bearer(auth?.key), ...(auth?.session ? { 'x-fathom-admin-session': auth.session } : {}) } })
    .catch((e) => {
      if (e.status === 401 && auth) logout('Your session ended: log in again.');
      throw e;
    });
}

const dateTime = (ms) => (ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + 'Z' : '');
const num = (v) => (v === null || v === undefined ? '—' : Number(v).toLocaleString());

/** columns: [{key, label, format?(value, row) -> text or Node}] */
function table(columns, rows, caption) {
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c.label)))),
    h('tbody', {}, rows.length
      ? rows.map((r) => h('tr', {}, columns.map((c) => h('td', { 'data-label': c.label }, c.format ? c.format(r[c.key], r) : r[c.key] ?? ''))))
      : h('tr', {}, h('td', { colspan: columns.length }, 'Nothing yet.')))));
}

const badge = (text, kind) => h('span', { class: `badge ${kind}` }, text);

// ---- Live -----------------------------------------------------------------------------------
async function showLive() {
  try {
    const live = await admin('/admin/live');
    const g = live.gateway;
    fill($('live'),
      h('p', { class: 'summary' }, `In flight: ${g.in_flight} · client connections: ${g.client_connections} · ledger rows pending: ${live.ledger_pending_rows} · as of ${dateTime(live.time_ms)}`),
      live.pools.map((p) => table([
        { key: 'id', label: 'Upstream' },
        { key: 'model', label: 'Model sent' },
        { key: 'healthy', label: 'Health', format: (v) => badge(v ? 'healthy' : 'unhealthy', v ? 'ok' : 'bad') },
        { key: 'breaker', label: 'Breaker', format: (v) => badge(v, v === 'closed' ? 'ok' : v === 'open' ? 'bad' : 'warn') },
        { key: 'in_flight', label: 'In flight', format: num },
        { key: 'waiting', label: 'Queue', format: num },
        { key: 'requests_total', label: 'Requests', format: num },
        { key: 'failures_total', label: 'Failures', format: num },
      ], p.upstreams, `Pool ${p.name} (${p.zone}, ${p.policy}${p.fallback ? `, falls back to ${p.fallback}` : ''})`)),
      table([{ key: 'name', label: 'Model' }, { key: 'aliases', label: 'Aliases', format: (v) => v.join(', ') }, { key: 'pool', label: 'Pool' }],
        live.models, 'Models'));
  } catch (e) {
    status(`Live view: ${e.message}`, true);
  }
}

// ---- Usage ----------------------------------------------------------------------------------
const USAGE_COLUMNS = ['day', 'tenant', 'model', 'requests', 'errors', 'prompt_tokens', 'completion_tokens', 'cached_tokens', 'cost', 'currency'];

async function showUsage() {
  const month = $('month').value;
  try {
    const u = await admin(`/admin/usage?month=${encodeURIComponent(month)}`);
    usageRows = u.data;
    const byDay = new Map();
    const byTenant = new Map();
    for (const r of u.data) {
      const tokens = r.prompt_tokens + r.completion_tokens;
      byDay.set(r.day, (byDay.get(r.day) || 0) + tokens);
      const t = byTenant.get(r.tenant) || { tenant: r.tenant, requests: 0, tokens: 0, cost_nanos: 0, currency: r.currency };
      t.requests += r.requests;
      t.tokens += tokens;
      t.cost_nanos += r.cost_nanos;
      byTenant.set(r.tenant, t);
    }
    const [year, mon] = u.month.split('-').map(Number);
    const numDays = new Date(Date.UTC(year, mon, 0)).getUTCDate();
    const days = Array.from({ length: numDays }, (_, i) => `${u.month}-${String(i + 1).padStart(2, '0')}`);
    fill($('usage'),
      barChart(days.map((d) => ({ label: d.slice(8), value: byDay.get(d) || 0 })), `Tokens per day, ${u.month} (all tenants)`, ' tokens'),
      table([
        { key: 'tenant', label: 'Tenant' },
        { key: 'requests', label: 'Requests', format: num },
        { key: 'tokens', label: 'Tokens', format: num },
        { key: 'cost_nanos', label: 'Cost', format: (v, r) => `${(v / 1e9).toFixed(6)} ${r.currency}` },
      ], [...byTenant.values()], `Per tenant, ${u.month}`),
      table(USAGE_COLUMNS.map((k) => ({ key: k, label: k.replace(/_/g, ' '), format: typeof u.data[0]?.[k] === 'number' ? num : undefined })),
        u.data, `Per day, tenant and model, ${u.month}`));
  } catch (e) {
    status(`Usage: ${e.message}`, true);
  }
}

// ---- Keys -----------------------------------------------------------------------------------
async function showKeys() {
  try {
    const { data } = await admin('/admin/keys');
    const now = Date.now();
    fill($('keys'), table([
      { key: 'key_id', label: 'Key id' },
      { key: 'tenant', label: 'Tenant' },
      { key: 'models', label: 'Models', format: (v) => (v.length ? v.join(', ') : 'all') },
      { key: 'admin', label: 'Admin', format: (v) => (v ? 'yes' : '') },
      { key: 'created_ms', label: 'Created', format: dateTime },
      { key: 'expires_ms', label: 'Expires', format: (v) => (v ? dateTime(v) : 'never') },
      { key: 'revoked_ms', label: 'State', format: (v, r) => (v ? badge(`revoked ${dateTime(v)}`, 'bad') : r.expires_ms && r.expires_ms < now ? badge('expired', 'warn') : badge('active', 'ok')) },
      { key: 'key_id', label: 'Action', format: (id, r) => (r.revoked_ms ? '' : h('button', { type: 'button', class: 'danger', 'aria-label': `Revoke key ${id}`, onclick: () => revoke(id) }, 'Revoke')) },
    ], data, 'Keys (secrets are never shown again after creation)'));
  } catch (e) {
    status(`Keys: ${e.message}`, true);
  }
}

async function revoke(id) {
  if (!confirm(`Revoke key ${id}? Requests with it are refused from the next one.`)) return;
  try {
    await admin(`/admin/keys/${encodeURIComponent(id)}`, { method: 'DELETE' });
    status(`Key ${id} revoked.`);
    showKeys();
  } catch (e) {
    status(`Revoke: ${e.message}`, true);
  }
}

async function createKey(e) {
  e.preventDefault();
  const models = $('key-models').value.split(',').map((s) => s.trim()).filter(Boolean);
  try {
    const k = await admin('/admin/keys', { method: 'POST', body: {
      tenant: $('key-tenant').value.trim(), models, expires_in_days: Number($('key-days').value || 0), admin: $('key-admin').checked } });
    const secret = h('output', { id: 'new-key-secret', class: 'secret' }, k.key);
    fill($('new-key'), h('div', { class: 'card once' },
      h('h3', {}, `New key ${k.key_id} for ${k.tenant}`),
      h('p', {}, 'Copy it now: it is shown this once and cannot be read back.'),
      secret,
      h('div', { class: 'row' },
        h('button', { type: 'button', onclick: () => navigator.clipboard.writeText(k.key).then(() => status('Key copied.'), (err) => status(err.message, true)) }, 'Copy'),
        h('button', { type: 'button', onclick: () => fill($('new-key')) }, 'Done, hide it'))));
    $('key-form').reset();
    showKeys();
  } catch (err) {
    status(`Create key: ${err.message}`, true);
  }
}

// ---- Tenants, audit, config -------------------------------------------------------------------
async function showTenants() {
  try {
    const t = await admin('/admin/tenants');
    fill($('tenant-names'), t.data.map((r) => h('option', { value: r.tenant })));
    const lim = (k) => ({ key: 'limits', label: k.replace(/_/g, ' '), format: (v) => (v[k] ? num(v[k]) : 'unlimited') });
    fill($('tenants'),
      table([{ key: 'tenant', label: 'Tenant' }, lim('requests_per_minute'), lim('tokens_per_minute'), lim('max_concurrent'), lim('monthly_tokens'),
        { key: 'month_tokens', label: 'Tokens this month', format: num }, { key: 'active_keys', label: 'Active keys', format: num },
        { key: 'configured', label: 'In config', format: (v) => (v ? 'yes' : 'no (keys only)') }], t.data, 'Tenants'),
      h('p', {}, `Every key also has: ${Object.entries(t.key_limits).map(([k, v]) => `${k.replace(/_/g, ' ')} ${v || 'unlimited'}`).join(', ')}.`));
  } catch (e) {
    status(`Tenants: ${e.message}`, true);
  }
}

async function showAudit() {
  try {
    const a = await admin('/admin/audit?limit=200');
    const v = a.verification;
    fill($('audit'),
      h('p', { class: `verification ${v.ok ? 'ok' : 'bad'}` }, v.ok
        ? `Chain verified: ${num(v.records)} records in ${v.files} file(s)${v.first_seq ? `, from seq ${v.first_seq} (older files pruned)` : ''}; last hash ${v.last_hash.slice(0, 16)}…`
        : `Chain verification FAILED: ${v.error}`),
      table([
        { key: 'seq', label: 'Seq' }, { key: 'time', label: 'Time' }, { key: 'event', label: 'Event' },
        { key: 'details', label: 'Details', format: (d) => h('code', {}, JSON.stringify(d)) },
      ], a.records, `Newest ${a.records.length} records of ${a.path}`));
  } catch (e) {
    status(`Audit log: ${e.message}`, true);
  }
}

async function showConfig() {
  try {
    const c = await admin('/admin/config');
    fill($('config'), h('p', {}, `${c.path} (secrets masked)`), h('pre', { class: 'config', tabindex: '0' }, h('code', {}, c.yaml)));
  } catch (e) {
    status(`Config: ${e.message}`, true);
  }
}

async function reloadConfig() {
  try {
    await admin('/admin/config/reload', { method: 'POST', body: {} });
    status('Config reloaded.');
    showConfig();
  } catch (e) {
    status(`Reload: ${e.message}`, true);
  }
}

// ---- Tabs, login ------------------------------------------------------------------------------
const SHOW = { live: showLive, usage: showUsage, keys: showKeys, tenants: showTenants, audit: showAudit, config: showConfig };

function selectTab(name) {
  for (const b of document.querySelectorAll('[data-tab]')) {
    const on = b.dataset.tab === name;
    if (on) b.setAttribute('aria-current', 'page'); else b.removeAttribute('aria-current');
    $(`tab-${b.dataset.tab}`).hidden = !on;
  }
  clearInterval(liveTimer);
  liveTimer = null;
  if (name === 'live') liveTimer = setInterval(showLive, LIVE_POLL_MS);
  if (name === 'keys') showTenants();  // the tenant suggestions
  location.hash = name;
  SHOW[name]();
}

function showConsole() {
  $('login').hidden = true;
  $('console').hidden = false;
  $('logout').hidden = false;
  selectTab(SHOW[location.hash.slice(1)] ? location.hash.slice(1) : 'live');
}

function logout(message = 'Logged out.') {
  const old = auth;
  auth = null;
  sessionStorage.removeItem(STORE);
  clearInterval(liveTimer);
  if (old?.session) apiJson('/admin/session', { method: 'DELETE', headers: { ...bearer(old.key), 'x-fathom-admin-session': old.session } }).catch(() => {});
  $('console').hidden = true;
  $('logout').hidden = true;
  $('login').hidden = false;
  status(message);
}

async function login(e) {
  e.preventDefault();
  const key = $('admin-key').value.trim();
  const otp = $('otp').value.trim();
  try {
    const s = await apiJson('/admin/session', { method: 'POST', body: {}, headers: { ...bearer(key), ...(otp ? { 'x-fathom-otp': otp } : {}) } });
    auth = { key, session: s.session };
    sessionStorage.setItem(STORE, JSON.stringify(auth));
    $('login').reset();
    status(`Logged in as ${s.key_id}.`);
    showConsole();
  } catch (err) {
    status(`Log in: ${err.message}`, true);
  }
}

function init() {
  const now = new Date();
  $('month').value = `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
  $('login').addEventListener('submit', login);
  $('logout').addEventListener('click', () => logout());
  $('key-form').addEventListener('submit', createKey);
  $('usage-refresh').addEventListener('click', showUsage);
  $('month').addEventListener('change', showUsage);
  $('usage-csv').addEventListener('click', () => download(`fathom-usage-${$('month').value}.csv`, toCsv(usageRows, USAGE_COLUMNS), 'text/csv'));
  $('config-reload').addEventListener('click', reloadConfig);
  const tabs = [...document.querySelectorAll('[data-tab]')];
  tabs.forEach((b, i) => {
    b.addEventListener('click', () => selectTab(b.dataset.tab));
    b.addEventListener('keydown', (ev) => {  // arrow keys move along the tabs
      const d = ev.key === 'ArrowRight' ? 1 : ev.key === 'ArrowLeft' ? -1 : 0;
      if (!d) return;
      const next = tabs[(i + d + tabs.length) % tabs.length];
      next.focus();
      selectTab(next.dataset.tab);
    });
  });
  if (auth) showConsole();
}

init();
