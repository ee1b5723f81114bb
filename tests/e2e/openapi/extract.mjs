#!/usr/bin/env node
// Extracts from the official OpenAI OpenAPI document (github.com/openai/openai-openapi,
// openapi.yaml) the component schemas the e2e tests validate our responses against, plus
// everything they reference ($ref closure), into openai-schemas.json next to this file.
//
//   node tests/e2e/openapi/extract.mjs <path/to/openapi.yaml> [--commit <sha>] [--date <YYYY-MM-DD>]
//
// The schemas are copied verbatim except that annotation-only keywords are dropped to keep
// the file small: `description`, `title`, `example`, `examples` and vendor extensions
// `x-*`. None of them takes part in validation. Everything else (OpenAPI's `nullable` and
// `discriminator` included) is kept as the document has it; lib/openapi.mjs decides how a
// validator reads them.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

// The schemas the tests name. Response and ResponseStreamEvent are for the Responses API.
export const ROOTS = [
  'CreateChatCompletionResponse',
  'CreateChatCompletionStreamResponse',
  'CreateCompletionResponse',
  'ErrorResponse',
  'ListModelsResponse',
  'Model',
  'Response',
  'ResponseStreamEvent',
];

const REF_PREFIX = '#/components/schemas/';
const ANNOTATIONS = new Set(['description', 'title', 'example', 'examples']);

// Keywords whose value is a schema, an array of schemas, or a map from names to schemas
// (JSON Schema 2020-12 as OpenAPI 3.1 uses it). Everything else is a plain value and is
// copied untouched: a property *named* "description" under `properties` stays.
const SCHEMA_KEYWORDS = new Set([
  'items', 'additionalProperties', 'not', 'if', 'then', 'else', 'contains', 'propertyNames',
  'unevaluatedProperties', 'unevaluatedItems', 'additionalItems',
]);
const SCHEMA_ARRAY_KEYWORDS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);
const SCHEMA_MAP_KEYWORDS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']);

/** A copy of `schema` without annotations; calls `onRef(name)` for every component it references. */
function clean(schema, onRef) {
  if (Array.isArray(schema)) return schema.map((s) => clean(s, onRef));  // `items: [..]` (old style)
  if (schema === null || typeof schema !== 'object') return schema;       // `true` / `false` schemas
  const out = {};
  for (const [k, v] of Object.entries(schema)) {
    if (ANNOTATIONS.has(k) || k.startsWith('x-')) continue;
    if (k === '$ref') {
      if (typeof v !== 'string' || !v.startsWith(REF_PREFIX)) throw new Error(`unsupported $ref ${JSON.stringify(v)}`);
      onRef(v.slice(REF_PREFIX.length));
      out[k] = v;
    } else if (SCHEMA_KEYWORDS.has(k)) {
      out[k] = clean(v, onRef);
    } else if (SCHEMA_ARRAY_KEYWORDS.has(k)) {
      out[k] = v.map((s) => clean(s, onRef));
    } else if (SCHEMA_MAP_KEYWORDS.has(k)) {
      out[k] = Object.fromEntries(Object.entries(v).map(([name, s]) => [name, clean(s, onRef)]));
    } else {
      out[k] = v;  // type, enum, const, required, format, nullable, discriminator, default, ...
    }
  }
  return out;
}

/** The roots and their $ref closure, cleaned, sorted by name. */
export function extract(document, roots = ROOTS) {
  const all = document?.components?.schemas;
  if (!all) throw new Error('the document has no components.schemas');
  const done = new Map();
  const todo = [...roots];
  while (todo.length) {
    const name = todo.pop();
    if (done.has(name)) continue;
    if (!(name in all)) throw new Error(`schema ${name} is not in the document`);
    done.set(name, clean(all[name], (ref) => { if (!done.has(ref)) todo.push(ref); }));
  }
  return Object.fromEntries([...done.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

function main(argv) {
  const args = [...argv];
  const option = (name) => {
    const at = args.indexOf(name);
    if (at < 0) return null;
    const [, value] = args.splice(at, 2);
    return value;
  };
  const commit = option('--commit');
  const date = option('--date') ?? new Date().toISOString().slice(0, 10);
  const input = args[0];
  if (!input) {
    console.error('usage: node tests/e2e/openapi/extract.mjs <openapi.yaml> [--commit <sha>] [--date <YYYY-MM-DD>]');
    process.exit(2);
  }
  // The document is ~3 MB; no limit on YAML aliases (it has none today).
  const document = parse(readFileSync(input, 'utf8'), { maxAliasCount: -1 });
  const schemas = extract(document);
  const out = {
    source: {
      repository: 'https://github.com/openai/openai-openapi',
      path: path.basename(input),
      commit,
      fetched: date,
      openapi: document.openapi,
      info_version: document.info?.version,
      roots: ROOTS,
    },
    // How to read the schemas: OpenAPI 3.1 means JSON Schema 2020-12 (see lib/openapi.mjs).
    openapi: document.openapi,
    schemas,
  };
  const target = path.join(path.dirname(new URL(import.meta.url).pathname), 'openai-schemas.json');
  writeFileSync(target, JSON.stringify(out, null, 1) + '\n');
  console.log(`wrote ${Object.keys(schemas).length} schemas (closure of ${ROOTS.length} roots) to ${target}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === new URL(import.meta.url).pathname) main(process.argv.slice(2));
