// Validates values against the official OpenAI OpenAPI schemas (the subset in
// tests/e2e/openapi/openai-schemas.json; tests/e2e/openapi/README.md says where it comes from).
//
//   import { assertMatchesSchema } from './lib/openapi.mjs';
//   assertMatchesSchema('CreateChatCompletionResponse', json);   // throws an AssertionError
//
// The document is OpenAPI 3.1, whose schemas are JSON Schema 2020-12: they are compiled with
// Ajv2020 in strict mode. A few OpenAPI-only or pre-2020-12 keywords are translated first
// (README.md, "Translations"); nothing else is changed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const here = path.dirname(new URL(import.meta.url).pathname);
const document = JSON.parse(readFileSync(path.join(here, '../openapi/openai-schemas.json'), 'utf8'));
if (!/^3\.1\./.test(document.openapi)) {
  throw new Error(`openai-schemas.json is OpenAPI ${document.openapi}; lib/openapi.mjs reads 3.1 (JSON Schema 2020-12)`);
}

const ROOT_ID = 'https://fathom.test/openai-schemas.json';
const COMPONENT = '#/components/schemas/';

// ---- translations (each one documented in tests/e2e/openapi/README.md) ----

const SCHEMA_KEYWORDS = new Set(['items', 'additionalProperties', 'not', 'if', 'then', 'else', 'contains', 'propertyNames',
  'unevaluatedProperties', 'unevaluatedItems']);
const SCHEMA_ARRAYS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'dependentSchemas']);

export const translationCounts = { nullable: 0, recursiveRef: 0 };

/**
 * A 2020-12 copy of one component schema `name`:
 * - `$ref: "#/components/schemas/X"` -> `"#/$defs/X"` (the components live under $defs here);
 * - OpenAPI 3.0's `nullable: true`, which some schemas of this 3.1 document still carry (3.1
 *   itself ignores it): the value may also be null. With a `type`, null joins the type (and
 *   the `enum`, if any); without one (next to a `$ref`), the schema becomes
 *   `anyOf: [<schema>, {type: "null"}]`. `nullable: false` is dropped (the default);
 * - draft 2019-09's `$recursiveAnchor: true` / `$recursiveRef: "#"` (CompoundFilter, which
 *   nests itself): a plain `$ref` to the component that carries the anchor.
 * `discriminator` stays and is read as an annotation (the oneOf/anyOf it sits on is checked
 * in full); `format`s are checked (ajv-formats plus `unixtime`, below).
 */
function translate(schema, component) {
  if (Array.isArray(schema)) return schema.map((s) => translate(s, component));
  if (schema === null || typeof schema !== 'object') return schema;
  let out = {};
  let nullable = false;
  for (const [k, v] of Object.entries(schema)) {
    if (k === '$ref') {
      out.$ref = v.startsWith(COMPONENT) ? `#/$defs/${v.slice(COMPONENT.length)}` : v;
    } else if (k === 'nullable') {
      nullable = v === true;
    } else if (k === '$recursiveAnchor') {
      continue;
    } else if (k === '$recursiveRef') {
      assert.equal(v, '#', `unexpected $recursiveRef ${v} in ${component}`);
      out.$ref = `#/$defs/${component}`;
      translationCounts.recursiveRef++;
    } else if (SCHEMA_KEYWORDS.has(k)) {
      out[k] = translate(v, component);
    } else if (SCHEMA_ARRAYS.has(k)) {
      out[k] = v.map((s) => translate(s, component));
    } else if (SCHEMA_MAPS.has(k)) {
      out[k] = Object.fromEntries(Object.entries(v).map(([p, s]) => [p, translate(s, component)]));
    } else {
      out[k] = v;
    }
  }
  if (nullable) {
    translationCounts.nullable++;
    if (out.type !== undefined) {
      const types = Array.isArray(out.type) ? out.type : [out.type];
      if (!types.includes('null')) out.type = [...types, 'null'];
      if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    } else {
      out = { anyOf: [out, { type: 'null' }] };
    }
  }
  return out;
}

// ---- the validator ----

const defs = {};
for (const [name, schema] of Object.entries(document.schemas)) defs[name] = translate(schema, name);

const ajv = new Ajv2020({
  strict: true,            // unknown keywords, unknown formats, ignored keyword combinations: compile errors
  // Two of strict mode's lints flag how the document is written, not what it means, and are off:
  // `required` naming a property that a sibling allOf branch defines (Response), or none
  // defines (ResponseAudioDoneEvent requires response_id); `required`/`properties` without
  // `type: "object"` (Model). Either way the keywords are enforced exactly as written.
  strictRequired: false,
  strictTypes: false,
  allowUnionTypes: true,   // `type: ["string", "null"]` is plain 2020-12
  allErrors: true,         // report every mismatch, not only the first
  validateFormats: true,
});
addFormats(ajv);
// OpenAI's own format for timestamps: integer Unix seconds. Milliseconds (>= 1e11, i.e. past
// year 5138) are the mistake this catches.
ajv.addFormat('unixtime', { type: 'number', validate: (n) => Number.isInteger(n) && n >= 0 && n < 1e11 });
// OpenAPI's discriminator names the property that selects a oneOf/anyOf branch; the branch
// schemas check that property themselves, so it adds no constraint of its own.
ajv.addKeyword({ keyword: 'discriminator', schemaType: 'object' });
ajv.addSchema({ $id: ROOT_ID, $defs: defs });

const validators = new Map();

/** The compiled validator of component schema `name` (compiled once, on first use). */
export function validatorFor(name) {
  if (!(name in defs)) throw new Error(`schema ${name} is not in openai-schemas.json (add it to ROOTS in openapi/extract.mjs)`);
  let v = validators.get(name);
  if (!v) {
    v = ajv.getSchema(`${ROOT_ID}#/$defs/${name}`);
    if (!v) throw new Error(`ajv could not compile ${name}`);
    validators.set(name, v);
  }
  return v;
}

/** The names of all schemas in the subset. */
export const schemaNames = Object.keys(defs);

const clip = (s, n) => (s.length > n ? `${s.slice(0, n)}... (${s.length} chars)` : s);

function formatErrors(errors, limit = 40) {
  // The deepest mismatches first: for a failed anyOf they say what each branch missed.
  // (The same mismatch reached through several branches is listed once.)
  const sorted = [...errors].sort((a, b) => b.instancePath.split('/').length - a.instancePath.split('/').length);
  const all = [...new Set(sorted.map((e) => `  ${e.instancePath || '(root)'} ${e.message}` +
    `${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''}  [${e.schemaPath}]`))];
  const lines = all.slice(0, limit);
  if (all.length > limit) lines.push(`  ... and ${all.length - limit} more`);
  return lines.join('\n');
}

// For a union schema (anyOf/oneOf of component $refs, e.g. ResponseStreamEvent), the branch
// whose `type` property admits value.type: its errors say more than the whole union's.
function branchFor(name, value) {
  const schema = defs[name];
  const branches = schema.oneOf ?? schema.anyOf;
  if (!branches || typeof value?.type !== 'string') return null;
  for (const b of branches) {
    const ref = b.$ref?.startsWith('#/$defs/') && b.$ref.slice('#/$defs/'.length);
    const t = ref && defs[ref]?.properties?.type;
    if (t && (t.const === value.type || t.enum?.includes(value.type))) return ref;
  }
  return null;
}

/** Throws an AssertionError listing ajv's errors (with instance paths) unless `value` matches `name`. */
export function assertMatchesSchema(name, value, context = '') {
  const validate = validatorFor(name);
  if (validate(value)) return;
  const errors = validate.errors ?? [];
  let message = `${context ? `${context}: ` : ''}does not match OpenAI schema ${name}`;
  const branch = branchFor(name, value);
  const v = branch && validatorFor(branch);
  if (v && !v(value)) {
    // A union: the branch its `type` selects says what is wrong; the rest is every other branch.
    message += ` (as ${branch}, the branch for type "${value.type}"):\n${formatErrors(v.errors ?? [])}` +
      `\nall ${errors.length} errors over the union's branches:\n${formatErrors(errors, 10)}`;
  } else {
    message += `:\n${formatErrors(errors)}`;
  }
  message += `\nvalue: ${clip(JSON.stringify(value), 2000)}`;
  throw new assert.AssertionError({ message, actual: value, expected: name, operator: 'matchesSchema' });
}
