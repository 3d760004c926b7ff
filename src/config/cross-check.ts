/**
 * Cross-field rules, run on the raw document so they report even when the
 * schema pass found problems elsewhere (environments exist, names and keys
 * unique, keys of environments never shared), and the scan of every key and
 * string for something shaped like an Anthropic API key.
 */
import { resolve as resolvePath } from 'node:path';
import { DEFAULT_ENVIRONMENT, isValidName, NAME_RULE, SHA256_HEX, secretRefProblem } from './fields.ts';
import type { RawIssue } from './hints.ts';
import { looksLikeAnthropicKey } from './mask.ts';
import { parseSecretRef } from './refs.ts';

// ---------------------------------------------------------------------------
// Cross-field rules, run on the raw document so they report even when the
// schema pass found problems elsewhere.

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A secret reference in a canonical form, so two spellings of the same secret compare equal. */
function canonicalRef(spec: unknown, baseDir: string): string | undefined {
  if (typeof spec !== 'string' || secretRefProblem(spec) !== undefined) return undefined;
  const ref = parseSecretRef(spec);
  if (ref.kind === 'env') return `env:${ref.name}`;
  if (ref.kind === 'file') return `file:${resolvePath(baseDir, ref.path)}`;
  return `exec:${JSON.stringify(ref.argv)}`;
}

export function crossCheck(raw: Record<string, unknown>, baseDir: string): RawIssue[] {
  const issues: RawIssue[] = [];

  const declared = raw.environments;
  const envNames = isRecord(declared)
    ? Object.keys(declared)
    : declared === undefined
      ? [DEFAULT_ENVIRONMENT]
      : undefined;
  const upstreamRefs = new Map<string, string>();
  if (isRecord(declared)) {
    if (envNames?.length === 0)
      issues.push({ path: ['environments'], message: 'declare at least one environment' });
    for (const [name, env] of Object.entries(declared)) {
      if (!isValidName(name))
        issues.push({ path: ['environments', name], message: `invalid environment name: ${NAME_RULE}` });
      if (!isRecord(env)) continue;
      if ((env.upstream_key === undefined) === (env.upstream_keys === undefined)) {
        // Neither: `upstream_key` is the usual form, so say it is required there.
        issues.push(
          env.upstream_key === undefined
            ? { path: ['environments', name, 'upstream_key'], message: 'required' }
            : {
                path: ['environments', name],
                message: 'set exactly one of upstream_key or upstream_keys (both are set)',
              },
        );
      }
      // Every key reference of the environment, single or multi-key form.
      const refs: Array<{ spec: unknown; path: PropertyKey[]; label: string }> = [
        {
          spec: env.upstream_key,
          path: ['environments', name, 'upstream_key'],
          label: `environments.${name}.upstream_key`,
        },
      ];
      const ids = new Set<string>();
      if (Array.isArray(env.upstream_keys)) {
        env.upstream_keys.forEach((entry, i) => {
          if (!isRecord(entry)) return;
          if (typeof entry.id === 'string') {
            if (ids.has(entry.id))
              issues.push({
                path: ['environments', name, 'upstream_keys', i, 'id'],
                message: 'duplicate key id',
              });
            ids.add(entry.id);
          }
          refs.push({
            spec: entry.key,
            path: ['environments', name, 'upstream_keys', i, 'key'],
            label: `environments.${name}.upstream_keys[${i}].key`,
          });
        });
      }
      for (const { spec, path, label } of refs) {
        const ref = canonicalRef(spec, baseDir);
        if (ref === undefined) continue;
        const first = upstreamRefs.get(ref);
        if (first !== undefined) {
          issues.push({
            path,
            message: `same key reference as ${first}; keys of environments never mix, give each environment (and each key) its own reference`,
          });
        } else {
          upstreamRefs.set(ref, label);
        }
      }
    }
  }

  const clients = raw.clients;
  if (Array.isArray(clients)) {
    const names = new Map<string, number>();
    const hashes = new Map<string, number>();
    const keyRefs = new Map<string, number>();
    clients.forEach((client, i) => {
      if (!isRecord(client)) return;
      const { name, environment, key_sha256: keySha256, key } = client;
      if (typeof name === 'string') {
        if (!isValidName(name))
          issues.push({ path: ['clients', i, 'name'], message: `invalid client name: ${NAME_RULE}` });
        const first = names.get(name);
        if (first !== undefined) {
          issues.push({
            path: ['clients', i, 'name'],
            message: `duplicate client name (also clients[${first}].name)`,
          });
        } else {
          names.set(name, i);
        }
      }
      const envName = environment === undefined ? DEFAULT_ENVIRONMENT : environment;
      if (typeof envName === 'string' && envNames !== undefined && !envNames.includes(envName)) {
        const known = envNames.length ? envNames.join(', ') : 'none';
        issues.push({
          path: environment === undefined ? ['clients', i] : ['clients', i, 'environment'],
          message:
            environment === undefined
              ? `no environment given and there is no environment "${DEFAULT_ENVIRONMENT}"; set environment (declared: ${known})`
              : `unknown environment "${envName}" (declared: ${known})`,
        });
      }
      if ((keySha256 === undefined) === (key === undefined)) {
        issues.push({
          path: ['clients', i],
          message:
            key === undefined
              ? 'set exactly one of key_sha256 or key (neither is set; create a key with "gantry keys create")'
              : 'set exactly one of key_sha256 or key (both are set)',
        });
      }
      if (typeof keySha256 === 'string' && SHA256_HEX.test(keySha256)) {
        const hash = keySha256.toLowerCase();
        const first = hashes.get(hash);
        if (first !== undefined) {
          issues.push({
            path: ['clients', i, 'key_sha256'],
            message: `same key hash as clients[${first}].key_sha256; each client needs its own key`,
          });
        } else {
          hashes.set(hash, i);
        }
      }
      const ref = canonicalRef(key, baseDir);
      if (ref !== undefined) {
        const first = keyRefs.get(ref);
        const env = upstreamRefs.get(ref);
        if (env !== undefined) {
          issues.push({
            path: ['clients', i, 'key'],
            message: `same reference as ${env}; a client key must never be an upstream key`,
          });
        } else if (first !== undefined) {
          issues.push({
            path: ['clients', i, 'key'],
            message: `same key reference as clients[${first}].key; each client needs its own key`,
          });
        } else {
          keyRefs.set(ref, i);
        }
      }
    });
  }

  const limitEnvs = isRecord(raw.limits) ? raw.limits.environments : undefined;
  if (isRecord(limitEnvs) && envNames !== undefined) {
    for (const name of Object.keys(limitEnvs)) {
      if (!envNames.includes(name))
        issues.push({
          path: ['limits', 'environments', name],
          message: `unknown environment "${name}" (declared: ${envNames.join(', ') || 'none'})`,
        });
    }
  }

  const noClients = clients === undefined || (Array.isArray(clients) && clients.length === 0);
  if (noClients && envNames !== undefined && envNames.length > 0 && !envNames.includes(DEFAULT_ENVIRONMENT)) {
    issues.push({
      path: ['clients'],
      message:
        `no clients are declared, so the gateway runs in local mode with the upstream key of environment "${DEFAULT_ENVIRONMENT}", ` +
        `which is not declared; add clients, or declare environments.${DEFAULT_ENVIRONMENT}`,
    });
  }
  return issues;
}

/** Every key and string in the document that looks like an Anthropic API key. */
export function scanForKeys(value: unknown, path: PropertyKey[], out: RawIssue[]): void {
  if (typeof value === 'string') {
    if (looksLikeAnthropicKey(value)) {
      out.push({
        path,
        message:
          'looks like an Anthropic API key; keys never belong in gantry.yaml: reference them from environments.<name>.upstream_key ' +
          '(env:NAME, file:/path or exec:command)',
      });
    }
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => {
      scanForKeys(item, [...path, i], out);
    });
  } else if (isRecord(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (looksLikeAnthropicKey(key)) {
        out.push({
          path: [...path, key],
          message: 'this key name looks like an Anthropic API key; remove it from the file',
        });
      }
      scanForKeys(item, [...path, key], out);
    }
  }
}
