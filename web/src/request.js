// The chat request the playground sends, from its settings and the conversation. Pure.

export const PARAMS = ['temperature', 'top_p', 'max_tokens', 'seed'];
export const TEXTS = ['system', 'schema', 'extra'];

// The request body, or an Error naming the field that is wrong.
export function buildRequest(settings, messages) {
  const body = { model: settings.model, stream: true, stream_options: { include_usage: true }, messages: [] };
  if (settings.system.trim()) body.messages.push({ role: 'system', content: settings.system });
  for (const m of messages) body.messages.push({ role: m.role, content: m.content });
  for (const k of PARAMS) {
    if (settings[k] === '') continue;
    const v = Number(settings[k]);
    if (!Number.isFinite(v)) throw new Error(`${k}: not a number`);
    body[k] = v;
  }
  if (settings.schema.trim()) {
    let schema;
    try { schema = JSON.parse(settings.schema); } catch (e) { throw new Error(`JSON Schema: ${e.message}`); }
    body.response_format = { type: 'json_schema', json_schema: { name: 'output', schema } };
  }
  if (settings.extra.trim()) {
    let extra;
    try { extra = JSON.parse(settings.extra); } catch (e) { throw new Error(`More request fields: ${e.message}`); }
    if (typeof extra !== 'object' || Array.isArray(extra) || extra === null) throw new Error('More request fields: must be a JSON object');
    Object.assign(body, extra);
  }
  return body;
}
