/**
 * Every key of the gantry.yaml schema (src/config/sections.ts assembles it),
 * walked from the zod schema itself, so a key added anywhere shows up here
 * without a list to update. Used by test/config.docs.test.ts.
 *
 * Paths: `server.host`, `environments.<name>.upstream_key`,
 * `clients[].safety.pii.types`, `alerts.channels[].url`.
 */
import type { z } from 'zod';
import { configSchema } from '../src/config/sections.ts';

export interface SchemaKey {
  path: string;
  /** The schema at this key, defaults included (parse a value through it). */
  schema: z.ZodType;
  /** Has a default (`.default()`; `.prefault({})` sections count as having none). */
  hasDefault: boolean;
  /** The default's output value (after transforms), when it has one. */
  default?: unknown;
  /** An object, record or list of objects: its own keys are listed too. */
  container: boolean;
}

// zod keeps its internals in `_zod.def`; only the few fields used here are typed.
interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  valueType?: z.ZodType;
  element?: z.ZodType;
  options?: z.ZodType[];
  defaultValue?: unknown;
}
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** Unwraps default / optional / pipe wrappers to the type that holds the keys. */
function core(s: z.ZodType): { node: z.ZodType; hasDefault: boolean; prefault: boolean } {
  let node = s;
  let hasDefault = false;
  let prefault = false;
  for (;;) {
    const d = defOf(node);
    if (d.type === 'default') hasDefault = true;
    if (d.type === 'prefault') prefault = true;
    if (d.type === 'default' || d.type === 'prefault' || d.type === 'optional' || d.type === 'nullable')
      node = d.innerType!;
    else if (d.type === 'pipe') node = d.in!;
    else return { node, hasDefault, prefault };
  }
}

function objectShapes(node: z.ZodType): Record<string, z.ZodType>[] {
  const d = defOf(node);
  if (d.type === 'object') return [d.shape!];
  if (d.type === 'union') return d.options!.flatMap((o) => objectShapes(core(o).node));
  return [];
}

export function schemaKeys(): SchemaKey[] {
  const out: SchemaKey[] = [];
  const walk = (schema: z.ZodType, path: string) => {
    const { node, hasDefault, prefault } = core(schema);
    const d = defOf(node);
    const shapes = objectShapes(node);
    const container =
      shapes.length > 0 ||
      d.type === 'record' ||
      (d.type === 'array' && objectShapes(core(d.element!).node).length > 0);
    if (path) {
      const key: SchemaKey = { path, schema, hasDefault: hasDefault && !prefault, container };
      if (key.hasDefault) key.default = schema.parse(undefined);
      out.push(key);
    }
    for (const shape of shapes)
      for (const [k, v] of Object.entries(shape)) walk(v, path ? `${path}.${k}` : k);
    if (d.type === 'record') walk(d.valueType!, `${path}.<name>`);
    if (d.type === 'array') {
      const el = core(d.element!).node;
      if (objectShapes(el).length > 0) walk(d.element!, `${path}[]`);
    }
  };
  walk(configSchema, '');
  // A key reached through several union branches is listed once.
  const seen = new Set<string>();
  return out.filter((k) => {
    if (seen.has(k.path)) return false;
    seen.add(k.path);
    return true;
  });
}

/**
 * Every key path present in a parsed YAML document, in the same notation. The
 * keys of a record (`environments`, `policy.aliases`, ...) are `<name>`;
 * `records` is the set of record paths (`schemaKeys()` paths whose child is
 * `<name>`).
 */
export function documentPaths(doc: unknown, records: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  const visit = (v: unknown, p: string) => {
    if (Array.isArray(v)) {
      for (const item of v)
        if (item && typeof item === 'object' && !Array.isArray(item)) visit(item, `${p}[]`);
      return;
    }
    if (!v || typeof v !== 'object') return;
    for (const [k, child] of Object.entries(v)) {
      const path = records.has(p) ? `${p}.<name>` : p ? `${p}.${k}` : k;
      out.add(path);
      visit(child, path);
    }
  };
  visit(doc, '');
  return out;
}

/** The record paths of the schema (their keys are names the user picks). */
export function recordPaths(keys: readonly SchemaKey[]): Set<string> {
  return new Set(
    keys.filter((k) => k.path.endsWith('.<name>')).map((k) => k.path.slice(0, -'.<name>'.length)),
  );
}
