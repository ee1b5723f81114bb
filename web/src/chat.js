// The chat playground: a conversation with one model over /v1/chat/completions (streamed),
// kept in this browser (localStorage; the API key only for the session).
import './style.css';
import { apiJson, bearer } from './api.js';
import { applyChunk, answerStats, formatStats, newAnswer } from './answer.js';
import { announce, download, fill, h } from './dom.js';
import { renderMarkdown } from './markdown.js';
import { PARAMS, TEXTS, buildRequest } from './request.js';
import { readSse } from './sse.js';

const STORE = 'fathom.chat.v1';
const $ = (id) => document.getElementById(id);

const saved = JSON.parse(localStorage.getItem(STORE) || '{}');
const state = { messages: saved.messages || [], settings: saved.settings || {}, controller: null };

function save() {
  localStorage.setItem(STORE, JSON.stringify({ messages: state.messages, settings: state.settings }));
}

function readSettings() {
  const s = { model: $('model').value };
  for (const k of [...PARAMS, ...TEXTS]) s[k] = $(k).value;
  state.settings = s;
  save();
  return s;
}

function messageView(m) {
  const li = h('li', { class: `msg ${m.role}` });
  renderMessage(li, m);
  return li;
}

function renderMessage(li, m) {
  const parts = [h('div', { class: 'who' }, m.role === 'user' ? 'You' : m.model ? `Assistant · ${m.model}` : 'Assistant')];
  if (m.reasoning) {
    parts.push(h('details', { class: 'reasoning' },
      h('summary', {}, `Reasoning (${m.reasoning.length} characters)`),
      h('div', { class: 'reasoning-text' }, m.reasoning)));
  }
  const body = h('div', { class: 'content' });
  if (m.role === 'assistant') body.append(renderMarkdown(m.content));
  else body.textContent = m.content;
  parts.push(body);
  for (const tc of m.toolCalls || []) {
    let args = tc.arguments;
    try { args = JSON.stringify(JSON.parse(tc.arguments), null, 2); } catch { /* partial or not JSON: as sent */ }
    parts.push(h('div', { class: 'tool-call' }, h('div', { class: 'tool-name' }, `Tool call: ${tc.name}`), h('pre', {}, h('code', {}, args))));
  }
  if (m.error) parts.push(h('p', { class: 'error' }, m.error));
  if (m.stats) parts.push(h('p', { class: 'stats' }, m.stats));
  fill(li, parts);
}

function renderAll() {
  fill($('messages'), state.messages.map(messageView));
}

async function loadModels() {
  const select = $('model');
  try {
    const list = await apiJson('/v1/models', { headers: bearer(sessionStorage.getItem('fathom.key')) });
    const ids = (list.data || []).map((m) => m.id);
    fill(select, ids.map((id) => h('option', { value: id }, id)));
    if (ids.includes(state.settings.model)) select.value = state.settings.model;
    announce($('status'), ids.length ? '' : 'No models: is the API key allowed any?', !ids.length);
  } catch (e) {
    fill(select);
    announce($('status'), `Models: ${e.message}${e.status === 401 ? ' (set the API key)' : ''}`, true);
  }
}

function setBusy(busy) {
  $('send').disabled = busy;
  $('stop').disabled = !busy;
}

async function send(text) {
  let body;
  const settings = readSettings();
  try {
    if (!settings.model) throw new Error('Model: pick one (none loaded)');
    state.messages.push({ role: 'user', content: text });
    body = buildRequest(settings, state.messages);
  } catch (e) {
    if (state.messages.at(-1)?.content === text) state.messages.pop();
    announce($('status'), e.message, true);
    return;
  }
  $('prompt').value = '';
  const msg = { role: 'assistant', content: '', model: settings.model };
  state.messages.push(msg);
  save();
  renderAll();
  const li = $('messages').lastElementChild;
  const controller = new AbortController();
  state.controller = controller;
  setBusy(true);
  announce($('status'), 'Generating…');
  const answer = newAnswer(performance.now());
  let frame = 0;
  const paint = () => {
    frame = 0;
    Object.assign(msg, { content: answer.content, reasoning: answer.reasoning, toolCalls: answer.toolCalls });
    renderMessage(li, msg);
    li.scrollIntoView({ block: 'end' });
  };
  try {
    const res = await fetch('/v1/chat/completions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...bearer(sessionStorage.getItem('fathom.key')) },
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    if (!res.ok) {
      const j = await res.json().catch(() => null);
      throw new Error(j?.error?.message || `${res.status} ${res.statusText}`);
    }
    for await (const chunk of readSse(res)) {
      applyChunk(answer, chunk, performance.now());
      if (!frame) frame = requestAnimationFrame(paint);
    }
    announce($('status'), answer.error ? 'The answer ended with an error.' : 'Done.', !!answer.error);
  } catch (e) {
    if (e.name === 'AbortError') {
      msg.stopped = true;
      announce($('status'), 'Stopped.');
    } else {
      answer.error = e.message;
      announce($('status'), e.message, true);
    }
  } finally {
    if (frame) cancelAnimationFrame(frame);
    answer.endedMs = performance.now();
    const stats = answerStats(answer);
    Object.assign(msg, { content: answer.content, reasoning: answer.reasoning, toolCalls: answer.toolCalls,
      error: answer.error, finishReason: answer.finishReason, usage: answer.usage,
      stats: formatStats(stats) + (msg.stopped ? ' · stopped' : answer.finishReason ? ` · ${answer.finishReason}` : '') });
    renderMessage(li, msg);
    state.controller = null;
    setBusy(false);
    save();
  }
}

function exportJson() {
  return JSON.stringify({ exported: new Date().toISOString(), settings: { ...state.settings }, messages: state.messages }, null, 2);
}

function init() {
  if (location.pathname.includes('/ui/')) $('admin-link').hidden = false;  // the gateway has an operator console
  $('api-key').value = sessionStorage.getItem('fathom.key') || '';
  for (const k of [...PARAMS, ...TEXTS]) $(k).value = state.settings[k] ?? '';
  $('api-key').addEventListener('change', () => {
    sessionStorage.setItem('fathom.key', $('api-key').value.trim());
    loadModels();
  });
  $('settings-form').addEventListener('change', readSettings);
  $('reload-models').addEventListener('click', loadModels);
  $('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    const text = $('prompt').value;
    if (text.trim() && !state.controller) send(text);
  });
  $('prompt').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      $('composer').requestSubmit();
    }
  });
  $('stop').addEventListener('click', () => state.controller?.abort());
  $('new-chat').addEventListener('click', () => {
    state.controller?.abort();
    state.messages = [];
    save();
    renderAll();
    announce($('status'), 'New chat.');
    $('prompt').focus();
  });
  $('export').addEventListener('click', () => download(`fathom-chat-${Date.now()}.json`, exportJson(), 'application/json'));
  $('copy').addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(exportJson());
      announce($('status'), 'Conversation copied as JSON.');
    } catch (e) {
      announce($('status'), `Copy failed: ${e.message}`, true);
    }
  });
  $('settings-toggle').addEventListener('click', () => {
    const open = document.body.classList.toggle('settings-open');
    $('settings-toggle').setAttribute('aria-expanded', String(open));
  });
  renderAll();
  loadModels();
}

if (typeof document !== 'undefined' && document.getElementById('composer')) init();
