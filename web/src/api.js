// Calls to the server/gateway from the pages: JSON in and out, errors in the OpenAI shape
// turned into Error(message) with the HTTP status attached.

export async function apiJson(path, { method = 'GET', body, headers = {}, signal } = {}) {
  const res = await fetch(path, {
    method,
    headers: { ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: body !== undefined ? JSON.stringify(body) : undefined,
    signal,
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  if (!res.ok) {
    const err = new Error(json?.error?.message || `${res.status} ${res.statusText}`);
    err.status = res.status;
    throw err;
  }
  return json;
}

export const bearer = (key) => (key ? { Authorization: `Bearer ${key}` } : {});
