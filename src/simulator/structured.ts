/**
 * Structured outputs: the JSON schema a request asks the reply to follow, and
 * a deterministic value that validates against it.
 *
 * The request names the schema in `output_config.format` (`{type:
 * "json_schema", schema}`, the API's form) or in the older beta field
 * `output_format` (same shape, `anthropic-beta: structured-outputs-2025-11-13`).
 * The simulated reply is then one text block holding `JSON.stringify` of the
 * value `valueForSchema` builds: the same schema always gives the same JSON.
 *
 * `valueForSchema` covers the JSON Schema the API accepts for structured
 * outputs: `type` (also as a list), `const`, `enum`, `default`, objects
 * (every property; `required`, `minProperties`), arrays (`items`,
 * `prefixItems`, `minItems`, `maxItems`, `uniqueItems`), strings
 * (`minLength`, `maxLength`, the common `format`s, `pattern` by trying a few
 * candidates), numbers (`minimum`, `maximum`, exclusive bounds,
 * `multipleOf`), `anyOf` / `oneOf` (the first alternative that is not
 * `null`), `allOf` (merged), `$ref` into `$defs` / `definitions`, and
 * recursive schemas (beyond depth 6 only what is required is filled). A
 * `pattern` none of the candidates matches is not satisfied (docs/simulator.md).
 */

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The schema of `output_config.format` or `output_format`, or undefined when the request asks for none. */
export function outputSchemaOf(body: Obj): Obj | undefined {
  const config = isObj(body.output_config) ? body.output_config : undefined;
  const format = isObj(config?.format)
    ? config.format
    : isObj(body.output_format)
      ? body.output_format
      : undefined;
  return format?.type === 'json_schema' && isObj(format.schema) ? format.schema : undefined;
}

/** Why a structured-output request is malformed (the API answers 400), or undefined. */
export function outputFormatProblem(body: Obj): string | undefined {
  for (const [field, format] of [
    ['output_config.format', isObj(body.output_config) ? body.output_config.format : undefined],
    ['output_format', body.output_format],
  ] as const) {
    if (format === undefined || format === null) continue;
    if (!isObj(format)) return `${field}: Input should be a valid dictionary`;
    if (format.type !== 'json_schema') return `${field}.type: Input should be 'json_schema'`;
    if (!isObj(format.schema)) return `${field}.schema: Field required`;
  }
  return undefined;
}

const FORMATS: Record<string, string> = {
  'date-time': '2026-01-01T00:00:00Z',
  date: '2026-01-01',
  time: '00:00:00Z',
  duration: 'PT1H',
  email: 'user@example.com',
  'idn-email': 'user@example.com',
  hostname: 'example.com',
  'idn-hostname': 'example.com',
  ipv4: '192.0.2.1',
  ipv6: '2001:db8::1',
  uri: 'https://example.com/',
  'uri-reference': 'https://example.com/',
  iri: 'https://example.com/',
  url: 'https://example.com/',
  uuid: '00000000-0000-4000-8000-000000000000',
};

/** Beyond this depth, objects get only their required properties and arrays only `minItems`. */
const FULL_DEPTH = 6;
/** A schema nested (or recursing) deeper than this gets `null`. */
const MAX_DEPTH = 32;

interface Ctx {
  root: Obj;
  depth: number;
}

/**
 * A value that validates against `schema` (see the module comment for what is
 * covered). `key` names the value (a property name), for readable strings;
 * `index` varies array items so `uniqueItems` holds.
 */
export function valueForSchema(schema: unknown, key = 'value', index = 0, ctx?: Ctx): unknown {
  const c = ctx ?? { root: isObj(schema) ? schema : {}, depth: 0 };
  if (schema === true || schema === undefined) return `${key}_value`;
  if (!isObj(schema) || c.depth > MAX_DEPTH) return null;
  const next: Ctx = { root: c.root, depth: c.depth + 1 };

  if (typeof schema.$ref === 'string') {
    const target = resolveRef(c.root, schema.$ref);
    const { $ref: _, ...rest } = schema;
    return valueForSchema(target === undefined ? rest : { ...target, ...rest }, key, index, next);
  }
  if (Array.isArray(schema.allOf) && schema.allOf.length > 0) {
    const { allOf, ...rest } = schema;
    return valueForSchema(mergeAll([rest, ...allOf.map((s) => deref(c.root, s))]), key, index, next);
  }
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[index % schema.enum.length];
  if ('default' in schema && index === 0) return schema.default;
  const alternatives = (schema.anyOf ?? schema.oneOf) as unknown;
  if (Array.isArray(alternatives) && alternatives.length > 0) {
    const pick = alternatives.find((a) => !isNullSchema(deref(c.root, a))) ?? alternatives[0];
    const { anyOf: _a, oneOf: _o, ...rest } = schema;
    return valueForSchema(mergeAll([rest, deref(c.root, pick)]), key, index, next);
  }

  const types = Array.isArray(schema.type) ? (schema.type as unknown[]) : [schema.type];
  const type = types.find((t) => t !== 'null') ?? types[0] ?? inferType(schema);
  switch (type) {
    case 'object':
      return objectValue(schema, next);
    case 'array':
      return arrayValue(schema, key, next);
    case 'integer':
      return numberValue(schema, true, index);
    case 'number':
      return numberValue(schema, false, index);
    case 'boolean':
      return index % 2 === 0;
    case 'null':
      return null;
    default:
      return stringValue(schema, key, index);
  }
}

function inferType(schema: Obj): string {
  if ('properties' in schema || 'required' in schema || 'additionalProperties' in schema) return 'object';
  if ('items' in schema || 'prefixItems' in schema) return 'array';
  if ('minimum' in schema || 'maximum' in schema || 'multipleOf' in schema) return 'number';
  return 'string';
}

const isNullSchema = (s: unknown): boolean =>
  isObj(s) && (s.type === 'null' || (s.const === null && !('type' in s)));

function deref(root: Obj, s: unknown): unknown {
  return isObj(s) && typeof s.$ref === 'string' ? (resolveRef(root, s.$ref) ?? s) : s;
}

/** `#/$defs/Name` (any JSON pointer into the root schema); other references are not followed. */
function resolveRef(root: Obj, ref: string): Obj | undefined {
  if (ref === '#') return root;
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = root;
  for (const raw of ref.slice(2).split('/')) {
    const part = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    node = isObj(node) ? node[part] : Array.isArray(node) ? node[Number(part)] : undefined;
  }
  return isObj(node) ? node : undefined;
}

/** A shallow merge of schemas: properties and required lists are united, other keywords overwritten. */
function mergeAll(schemas: unknown[]): Obj {
  const out: Obj = {};
  for (const s of schemas) {
    if (!isObj(s)) continue;
    for (const [k, v] of Object.entries(s)) {
      if (k === 'properties' && isObj(v))
        out.properties = { ...(isObj(out.properties) ? out.properties : {}), ...v };
      else if (k === 'required' && Array.isArray(v))
        out.required = [...new Set([...(Array.isArray(out.required) ? out.required : []), ...v])];
      else out[k] = v;
    }
  }
  return out;
}

function objectValue(schema: Obj, c: Ctx): Obj {
  const props = isObj(schema.properties) ? schema.properties : {};
  const required = new Set(
    Array.isArray(schema.required) ? schema.required.filter((k) => typeof k === 'string') : [],
  );
  const out: Obj = {};
  const full = c.depth <= FULL_DEPTH;
  for (const [k, s] of Object.entries(props)) {
    if (full || required.has(k)) out[k] = valueForSchema(s, k, 0, c);
  }
  for (const k of required) if (!(k in out)) out[k] = valueForSchema(true, k, 0, c);
  const min = typeof schema.minProperties === 'number' ? schema.minProperties : 0;
  const extra = isObj(schema.additionalProperties) ? schema.additionalProperties : {};
  for (let i = 0; Object.keys(out).length < min && schema.additionalProperties !== false; i++) {
    out[`key_${i + 1}`] = valueForSchema(extra, `key_${i + 1}`, i, c);
  }
  return out;
}

function arrayValue(schema: Obj, key: string, c: Ctx): unknown[] {
  const prefix = Array.isArray(schema.prefixItems) ? schema.prefixItems : [];
  const min = typeof schema.minItems === 'number' ? schema.minItems : 0;
  const max = typeof schema.maxItems === 'number' ? schema.maxItems : Number.POSITIVE_INFINITY;
  // One item shows the shape; past the full depth only what is required.
  const wanted = Math.max(min, prefix.length, c.depth <= FULL_DEPTH ? 1 : 0);
  const n = Math.min(wanted, max, Math.max(min, 50));
  const items = schema.items === false ? undefined : schema.items;
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) {
    if (i < prefix.length) out.push(valueForSchema(prefix[i], key, i, c));
    else if (items === undefined && prefix.length > 0) break;
    else out.push(valueForSchema(items ?? true, key, i, c));
  }
  return out;
}

function numberValue(schema: Obj, integer: boolean, index: number): number {
  const num = (k: string) => (typeof schema[k] === 'number' ? (schema[k] as number) : undefined);
  const step = num('multipleOf');
  const exclusiveMin = num('exclusiveMinimum');
  const exclusiveMax = num('exclusiveMaximum');
  let lo = num('minimum');
  let hi = num('maximum');
  if (exclusiveMin !== undefined) {
    const above = integer ? Math.floor(exclusiveMin) + 1 : exclusiveMin + 0.5;
    lo = lo === undefined ? above : Math.max(lo, above);
  }
  if (exclusiveMax !== undefined) {
    const below = integer ? Math.ceil(exclusiveMax) - 1 : exclusiveMax - 0.5;
    hi = hi === undefined ? below : Math.min(hi, below);
  }
  if (integer) {
    if (lo !== undefined) lo = Math.ceil(lo);
    if (hi !== undefined) hi = Math.floor(hi);
  }
  // Two close exclusive bounds: the middle.
  if (
    !integer &&
    lo !== undefined &&
    hi !== undefined &&
    lo > hi &&
    exclusiveMin !== undefined &&
    exclusiveMax !== undefined
  )
    return (exclusiveMin + exclusiveMax) / 2;
  let v = (lo ?? (hi !== undefined ? Math.min(1, hi) : 1)) + index;
  if (hi !== undefined && v > hi) v = hi;
  if (step !== undefined && step > 0) {
    v = Math.ceil(v / step) * step;
    if (hi !== undefined && v > hi) v = Math.floor(hi / step) * step;
  }
  return v;
}

function stringValue(schema: Obj, key: string, index: number): string {
  const format = typeof schema.format === 'string' ? FORMATS[schema.format] : undefined;
  const suffix = index > 0 ? `_${index}` : '';
  let s = format ?? `${key}_value${suffix}`;
  if (typeof schema.pattern === 'string') s = matchPattern(schema.pattern, [s, key, `${key}${index}`]) ?? s;
  const min = typeof schema.minLength === 'number' ? schema.minLength : 0;
  const max = typeof schema.maxLength === 'number' ? schema.maxLength : Number.POSITIVE_INFINITY;
  if (s.length < min) s = s + 'x'.repeat(min - s.length);
  if ([...s].length > max) s = [...s].slice(0, Math.max(max, 0)).join('');
  return s;
}

const PATTERN_CANDIDATES = [
  'a',
  'A',
  '1',
  'abc',
  'ABC',
  '123',
  'a1',
  'example',
  'AB-123',
  'abc_123',
  'x@example.com',
];

function matchPattern(pattern: string, preferred: string[]): string | undefined {
  let re: RegExp;
  try {
    re = new RegExp(pattern, 'u');
  } catch {
    return undefined;
  }
  return [...preferred, ...PATTERN_CANDIDATES].find((s) => re.test(s));
}
